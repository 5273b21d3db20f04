// Hash routes (#/messages/ID): the server serves one page at `/`, and nothing secret is
// ever part of a route.
import { useEffect, useState } from "preact/hooks";

export type Route =
  | { page: "overview" }
  | { page: "providers" }
  | { page: "messages" }
  | { page: "message"; id: string }
  | { page: "send" }
  | { page: "webhooks" }
  | { page: "webhook"; id: string };

export function parse(hash: string): Route {
  const parts = hash.replace(/^#\/?/, "").split("/").filter(Boolean).map(decodeURIComponent);
  switch (parts[0]) {
    case "providers":
      return { page: "providers" };
    case "messages":
      if (parts[1] === "new") return { page: "send" };
      return parts[1] ? { page: "message", id: parts[1] } : { page: "messages" };
    case "webhooks":
      return parts[1] ? { page: "webhook", id: parts[1] } : { page: "webhooks" };
    default:
      return { page: "overview" };
  }
}

export function href(route: Route): string {
  switch (route.page) {
    case "message":
      return `#/messages/${encodeURIComponent(route.id)}`;
    case "send":
      return "#/messages/new";
    case "webhook":
      return `#/webhooks/${encodeURIComponent(route.id)}`;
    default:
      return `#/${route.page}`;
  }
}

export function useRoute(): Route {
  const [route, setRoute] = useState(() => parse(location.hash));
  useEffect(() => {
    const onChange = () => setRoute(parse(location.hash));
    addEventListener("hashchange", onChange);
    return () => removeEventListener("hashchange", onChange);
  }, []);
  return route;
}

export function go(route: Route): void {
  location.hash = href(route);
}

import { useEffect, useMemo, useRef, useState } from "preact/hooks";
import { Api } from "./api";
import { MessageDetail } from "./pages/MessageDetail";
import { Messages } from "./pages/Messages";
import { Overview } from "./pages/Overview";
import { Providers } from "./pages/Providers";
import { KeyEntry } from "./pages/KeyEntry";
import { SendForm } from "./pages/SendForm";
import { WebhookDetail } from "./pages/WebhookDetail";
import { Webhooks } from "./pages/Webhooks";
import { href, useRoute, type Route } from "./router";
import { forgetKey, loadKey, saveKey } from "./session";

const NAV: { route: Route; label: string; pages: Route["page"][] }[] = [
  { route: { page: "overview" }, label: "Overview", pages: ["overview"] },
  { route: { page: "providers" }, label: "Providers", pages: ["providers"] },
  { route: { page: "messages" }, label: "Messages", pages: ["messages", "message", "send"] },
  { route: { page: "webhooks" }, label: "Webhooks", pages: ["webhooks", "webhook"] },
];

function title(route: Route): string {
  switch (route.page) {
    case "overview":
      return "Overview";
    case "providers":
      return "Providers";
    case "messages":
      return "Messages";
    case "message":
      return "Message";
    case "send":
      return "Send a message";
    case "webhooks":
      return "Webhooks";
    case "webhook":
      return "Webhook deliveries";
  }
}

export function App() {
  const [key, setKey] = useState<string | null>(loadKey);
  const [notice, setNotice] = useState<string | null>(null);
  const route = useRoute();
  const heading = useRef<HTMLHeadingElement>(null);

  const api = useMemo(
    () =>
      key
        ? new Api(key, () => {
            forgetKey();
            setNotice("The server no longer accepts this API key. Paste a valid one.");
            setKey(null);
          })
        : null,
    [key],
  );
  useEffect(() => () => api?.close(), [api]);

  const name = title(route);
  useEffect(() => {
    document.title = `${name} · MailSage`;
    heading.current?.focus();
  }, [name, route]);

  if (!api) {
    return (
      <KeyEntry
        notice={notice}
        onKey={(k) => {
          saveKey(k);
          setNotice(null);
          setKey(k);
        }}
      />
    );
  }

  let page;
  switch (route.page) {
    case "overview":
      page = <Overview api={api} />;
      break;
    case "providers":
      page = <Providers api={api} />;
      break;
    case "messages":
      page = <Messages api={api} />;
      break;
    case "message":
      page = <MessageDetail api={api} id={route.id} key={route.id} />;
      break;
    case "send":
      page = <SendForm api={api} />;
      break;
    case "webhooks":
      page = <Webhooks api={api} />;
      break;
    case "webhook":
      page = <WebhookDetail api={api} id={route.id} key={route.id} />;
      break;
  }

  return (
    <>
      <a class="skip" href="#main">
        Skip to content
      </a>
      <header class="top">
        <span class="brand">MailSage</span>
        <nav aria-label="Console">
          <ul>
            {NAV.map((n) => (
              <li key={n.label}>
                <a
                  href={href(n.route)}
                  aria-current={n.pages.includes(route.page) ? "page" : undefined}
                >
                  {n.label}
                </a>
              </li>
            ))}
          </ul>
        </nav>
        <button
          type="button"
          class="forget"
          onClick={() => {
            forgetKey();
            setNotice("The key was removed from this tab.");
            setKey(null);
          }}
        >
          Forget key
        </button>
      </header>
      <main id="main">
        <h1 tabIndex={-1} ref={heading}>
          {name}
        </h1>
        {page}
      </main>
    </>
  );
}

// Loading state for one request, and the live deliveryEvents feed.
import { useCallback, useEffect, useRef, useState } from "preact/hooks";
import { ApiError, type Api } from "./api";
import type {
  DeliveryEventsSubscription,
  DeliveryEventsSubscriptionVariables,
} from "./generated/graphql";
import { DELIVERY_EVENTS } from "./operations";

export interface Loaded<T> {
  data: T | null;
  error: ApiError | null;
  loading: boolean;
  reload: () => void;
}

export function useLoad<T>(load: () => Promise<T>, deps: unknown[]): Loaded<T> {
  const [data, setData] = useState<T | null>(null);
  const [error, setError] = useState<ApiError | null>(null);
  const [loading, setLoading] = useState(true);
  const [tick, setTick] = useState(0);
  useEffect(() => {
    let current = true;
    setLoading(true);
    load().then(
      (value) => {
        if (!current) return;
        setData(value);
        setError(null);
        setLoading(false);
      },
      (err: unknown) => {
        if (!current) return;
        setError(err instanceof ApiError ? err : new ApiError("error", String(err)));
        setLoading(false);
      },
    );
    return () => {
      current = false;
    };
  }, [...deps, tick]);
  const reload = useCallback(() => setTick((t) => t + 1), []);
  return { data, error, loading, reload };
}

export type DeliveryEvent = DeliveryEventsSubscription["deliveryEvents"];

/** Live events (of one message when messageId is set); `onEvent` sees each once. */
export function useDeliveryEvents(
  api: Api,
  variables: DeliveryEventsSubscriptionVariables,
  onEvent: (event: DeliveryEvent) => void,
): ApiError | null {
  const [error, setError] = useState<ApiError | null>(null);
  const handler = useRef(onEvent);
  handler.current = onEvent;
  const key = JSON.stringify(variables);
  useEffect(() => {
    setError(null);
    return api.subscribe<DeliveryEventsSubscription, DeliveryEventsSubscriptionVariables>(
      DELIVERY_EVENTS,
      variables,
      (data) => handler.current(data.deliveryEvents),
      setError,
    );
  }, [api, key]);
  return error;
}

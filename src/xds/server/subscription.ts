// What a client subscribed to of one type: every resource (wildcard) or the names it gave.
export type Subscription =
  | { readonly kind: "wildcard" }
  | {
      readonly kind: "names";
      readonly names: ReadonlySet<string>;
      /** The sorted names joined: clients with equal keys get equal responses. */
      readonly key: string;
    };

export function namesSubscription(names: Iterable<string>): Subscription {
  const set = new Set(names);
  return { kind: "names", names: set, key: [...set].sort().join("\u0000") };
}

export function subscriptionKey(sub: Subscription): string {
  return sub.kind === "wildcard" ? "*" : `=${sub.key}`;
}

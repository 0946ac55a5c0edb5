// The services by provider type. Explicit: a type nobody registered is an error naming the known
// ones, never a silent fallback to some default service.
import { VireoError } from "../common/errors.js";
import { discord } from "./discord.js";
import { googlechat } from "./googlechat.js";
import { msteams } from "./msteams.js";
import type { NotificationService } from "./service.js";
import { slack } from "./slack.js";
import { webhook } from "./webhook.js";

export class ServiceRegistry {
  private readonly services = new Map<string, NotificationService>();

  register(service: NotificationService): this {
    if (this.services.has(service.type)) {
      throw new VireoError(
        "DuplicateProviderType",
        `alert provider type "${service.type}" is already registered`,
      );
    }
    this.services.set(service.type, service);
    return this;
  }

  /** The service for `type`; throws UnknownProviderType for one not registered. */
  get(type: string): NotificationService {
    const service = this.services.get(type);
    if (service === undefined) {
      throw new VireoError(
        "UnknownProviderType",
        `unknown alert provider type "${type}": known types are ${this.types().join(", ")}`,
      );
    }
    return service;
  }

  types(): string[] {
    return [...this.services.keys()];
  }
}

/** A registry with every service vireo ships. */
export function builtInServices(): ServiceRegistry {
  return new ServiceRegistry()
    .register(slack)
    .register(msteams)
    .register(discord)
    .register(googlechat)
    .register(webhook);
}

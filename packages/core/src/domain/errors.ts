/** The engine's error hierarchy: each error has its own `name`, so logs and handlers can tell them apart. */
export class EngineError extends Error {
  override name = "EngineError";
}

/** A request or message did not match its schema. `fields` names each offending field. */
export class ValidationError extends EngineError {
  override name = "ValidationError";
  constructor(readonly fields: { field: string; message: string }[]) {
    super(`validation failed: ${fields.map((f) => `${f.field}: ${f.message}`).join("; ")}`);
  }
}

/** Redis, the queue, DynamoDB or the payment service could not be reached: retry later. */
export class DependencyUnavailableError extends EngineError {
  override name = "DependencyUnavailableError";
  constructor(readonly dependency: "redis" | "queue" | "orders_table" | "payment", cause?: unknown) {
    super(`${dependency} unavailable${cause instanceof Error ? `: ${cause.message}` : ""}`, { cause });
  }
}

/** The breaker around a dependency is open: refused at once, nothing taken. Retry after `retryAfterSeconds`. */
export class CircuitOpenError extends DependencyUnavailableError {
  override name = "CircuitOpenError";
  constructor(dependency: DependencyUnavailableError["dependency"], readonly retryAfterSeconds: number) {
    super(dependency);
    this.message = `${dependency} unavailable: circuit breaker open`;
  }
}

/** The item's counters are missing from Redis (never loaded, or the cache was lost): retry after a reconcile. */
export class InventoryMissingError extends EngineError {
  override name = "InventoryMissingError";
  constructor(readonly itemId: string) {
    super(`no inventory in Redis for item ${itemId}`);
  }
}

/** A queue message that can never be processed; it goes straight to the DLQ. */
export class PoisonMessageError extends EngineError {
  override name = "PoisonMessageError";
}

/** Redis answered a script with an error: a bug, not an outage. It answers 500 and alarms; retrying will not help. */
export class ScriptError extends EngineError {
  override name = "ScriptError";
}

/** A setting is missing or out of range: the process refuses to start, naming the setting. */
export class ConfigError extends EngineError {
  override name = "ConfigError";
}

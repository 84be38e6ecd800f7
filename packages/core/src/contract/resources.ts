/**
 * The shape of the resources the code relies on, declared once: stacks/Orders.ts creates the table from it, the
 * local stand-ins create the same table, and the DynamoDB adapter reads and writes it.
 */
export const ORDERS_TABLE = {
  /** Table name when nothing else is configured (the local profile). */
  defaultName: "orders",
  partitionKey: "request_id",
  /** DynamoDB TTL attribute: epoch seconds after which the record may be deleted. */
  ttlAttribute: "expires_at",
  /** Orders by item, for reconcile and the sale report. */
  byItem: {
    name: "by_item",
    partitionKey: "item_id",
    sortKey: "request_id",
    /** The attributes the index projects besides its keys: what reconcile and the sale report read. */
    projected: ["user_id", "amount", "status", "created_at", "updated_at"],
  },
} as const;

/** The orders queue and its dead-letter queue. Stage values live in stacks/config.ts; these serve the local profile. */
export const ORDERS_QUEUE = {
  defaultName: "orders",
  deadLetterSuffix: "-dlq",
  /** The DLQ keeps a message the longest SQS allows, so nothing is lost before an operator looks. */
  deadLetterRetentionSeconds: 14 * 24 * 3600,
  localVisibilityTimeoutSeconds: 30,
  /** Message attributes: the buy call's correlation id, and why a message was dead-lettered without retries. */
  correlationAttribute: "correlation_id",
  failureReasonAttribute: "failure_reason",
} as const;

/**
 * The orders topic and its dead-letter topic, for the Kafka transport (MSK on AWS). Records are keyed by item_id, so
 * one item's orders stay in one partition, in the order they were accepted. Stage values live in stacks/config.ts.
 */
export const ORDERS_TOPIC = {
  defaultName: "orders",
  deadLetterSuffix: "-dlt",
  /** Partitions of the orders topic where nothing else says (the local profile). */
  localPartitions: 3,
  /**
   * Record headers: the buy call's correlation id; on a dead letter, why the processor gave up and where the record
   * was read from (topic-partition@offset), so an operator can find it in the logs.
   */
  correlationHeader: ORDERS_QUEUE.correlationAttribute,
  failureReasonHeader: ORDERS_QUEUE.failureReasonAttribute,
  sourceHeader: "dead_letter_source",
  /** The consumer group `ops redrive` reads the dead-letter topic with: what it has not moved yet is what `ops dlq` lists. */
  redriveGroupSuffix: "-redrive",
} as const;

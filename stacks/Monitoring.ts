import { use, type StackContext } from "sst/constructs";
import { Duration } from "aws-cdk-lib";
import * as cw from "aws-cdk-lib/aws-cloudwatch";
import { SnsAction } from "aws-cdk-lib/aws-cloudwatch-actions";
import * as sns from "aws-cdk-lib/aws-sns";
import type * as sqs from "aws-cdk-lib/aws-sqs";
import { EmailSubscription } from "aws-cdk-lib/aws-sns-subscriptions";
import { NagSuppressions } from "cdk-nag";
import { getStageConfig, queueAgeAlarmSeconds, resolveAlarmEmails } from "./config.js";
import { failedMetric, Metric, METRICS_NAMESPACE, rejectedMetric, SERVICE_NAME } from "@flash/core/contract/metrics";
import { Order } from "@flash/core/domain/order";
import { ORDERS_TOPIC } from "@flash/core/contract/resources";
import { Cache, cacheName } from "./Cache.js";
import { Orders } from "./Orders.js";
import { Api } from "./Api.js";
import { Processor } from "./Processor.js";
import { useKafka } from "./Kafka.js";

/**
 * The app's custom EMF metrics (contract/metrics.ts): namespace FlashSale, dimension `stage`. Powertools Metrics
 * always adds a `service` dimension too (POWERTOOLS_SERVICE_NAME, set on every function), so the published
 * dimension set is {service, stage} and the dashboard queries exactly that.
 */

/** The one metric with a second dimension (`item`): one series per item on sale, see docs/metrics.md. */
export const ITEM_DIMENSION = "item";

/**
 * Dashboard + alarms. Every alarm notifies the alarm topic (ALARM and OK transitions);
 * the topic has one email subscription per address from ALARM_EMAILS or the stage config
 * (resolveAlarmEmails, which refuses production without any).
 */
export function Monitoring({ stack, app }: StackContext) {
  const config = getStageConfig(app.stage);
  const a = config.alarms;
  const { queue, dlq } = use(Orders);
  const kafka = useKafka(app.stage);
  const { api, buy } = use(Api);
  const { processor, sweeper } = use(Processor);
  const { cache } = use(Cache);
  const period = Duration.seconds(a.periodSeconds);
  const emails = resolveAlarmEmails(app.stage, config);

  const topic = new sns.Topic(stack, "AlarmTopic", {
    displayName: `${app.name} ${app.stage} alarms`,
    enforceSSL: true,
  });
  for (const email of emails) {
    const subscription = topic.addSubscription(new EmailSubscription(email));
    NagSuppressions.addResourceSuppressions(subscription, [
      {
        id: "Serverless-SNSRedrivePolicy",
        reason: "An email subscription: SNS retries delivery itself, and a redrive queue would hold alarm notifications nobody reads. The alarms stay visible in CloudWatch and on the dashboard.",
      },
    ]);
  }
  const action = new SnsAction(topic);

  const alarm = (id: string, props: Omit<cw.AlarmProps, "alarmName" | "treatMissingData">) => {
    const created = new cw.Alarm(stack, id, {
      alarmName: app.logicalPrefixedName(id),
      treatMissingData: cw.TreatMissingData.NOT_BREACHING,
      ...props,
    });
    created.addAlarmAction(action);
    created.addOkAction(action);
    return created;
  };

  const graph = (title: string, left: cw.IMetric[], right: cw.IMetric[] = [], rightAnnotations?: cw.HorizontalAnnotation[]) =>
    new cw.GraphWidget({ title, left, right, width: 12, height: 6, rightAnnotations });

  // --- metrics -------------------------------------------------------------------------
  const processorErrors = processor.metricErrors({ period, statistic: "Sum" });
  const processorThrottles = processor.metricThrottles({ period, statistic: "Sum" });
  const processorInvocations = processor.metricInvocations({ period, statistic: "Sum" });
  const processorConcurrency = processor.metric("ConcurrentExecutions", { period, statistic: "Maximum" });
  const sweeperErrors = sweeper.metricErrors({ period, statistic: "Sum" });
  const sweeperInvocations = sweeper.metricInvocations({ period, statistic: "Sum" });
  const buyP99 = buy.metricDuration({ period, statistic: "p99" });
  // ElastiCache Serverless publishes its metrics with the one dimension clusterId = the cache's name.
  const cacheMetric = (metricName: "ThrottledCmds" | "ElastiCacheProcessingUnits") =>
    new cw.Metric({
      namespace: "AWS/ElastiCache",
      metricName,
      dimensionsMap: { clusterId: cacheName(app.stage, app.name) },
      statistic: "Sum",
      period,
    });
  const cacheThrottled = cacheMetric("ThrottledCmds");
  const cacheEcpuPercent = new cw.MathExpression({
    expression: `100 * ecpu / PERIOD(ecpu) / ${config.cache.maxEcpuPerSecond}`,
    usingMetrics: { ecpu: cacheMetric("ElastiCacheProcessingUnits") },
    label: `ECPU/s in % of the ${config.cache.maxEcpuPerSecond} limit`,
    period,
  });
  const apiMetric = (metricName: "5xx" | "4xx" | "Count") =>
    new cw.Metric({ namespace: "AWS/ApiGateway", metricName, dimensionsMap: { ApiId: api.httpApiId, Stage: "$default" }, statistic: "Sum", period });
  const api5xx = apiMetric("5xx");
  const api4xx = apiMetric("4xx");
  const apiCount = apiMetric("Count");
  const appMetric = (metricName: string, statistic = "Sum") =>
    new cw.Metric({
      namespace: METRICS_NAMESPACE,
      metricName,
      dimensionsMap: { service: SERVICE_NAME, stage: app.stage },
      statistic,
      period,
    });

  const processingP99 = appMetric(Metric.ProcessingDuration, "p99");
  // Alarms cannot use SEARCH: the item-less InventoryRemaining series carries every item's value, so its
  // Minimum is the lowest stock among the items settled in the period.
  const inventoryMin = appMetric(Metric.InventoryRemaining, "Minimum");
  const failureRate = new cw.MathExpression({
    expression: "IF(processed > 0, 100 * failed / processed, 0)",
    usingMetrics: { failed: appMetric(Metric.OrdersFailed), processed: appMetric(Metric.OrdersProcessed) },
    label: "failure rate (%)",
    period,
  });
  const inventoryPerItem = new cw.MathExpression({
    expression: `SEARCH('{${METRICS_NAMESPACE},${ITEM_DIMENSION},service,stage} MetricName="${Metric.InventoryRemaining}" stage="${app.stage}"', 'Minimum', ${a.periodSeconds})`,
    usingMetrics: {},
    label: "",
    period,
  });

  // --- alarms --------------------------------------------------------------------------
  const evaluationPeriods = a.evaluationPeriods;
  // The transport's own: the SQS queue and DLQ, or the Kafka consumer lag and dead-letter topic. Widgets for the dashboard.
  const transportWidgets =
    queue && dlq
      ? sqsAlarms(queue, dlq)
      : kafkaAlarms(kafka as Required<Pick<typeof kafka, "clusterName" | "topics" | "consumerGroup">>);
  alarm("ProcessorErrors", {
    alarmDescription: "The order processor threw (whole-batch failures).",
    metric: processorErrors,
    threshold: a.processorErrors,
    comparisonOperator: cw.ComparisonOperator.GREATER_THAN_THRESHOLD,
    evaluationPeriods,
  });
  alarm("ProcessorThrottles", {
    alarmDescription: "The order processor was throttled (account concurrency exhausted?).",
    metric: processorThrottles,
    threshold: a.processorThrottles,
    comparisonOperator: cw.ComparisonOperator.GREATER_THAN_THRESHOLD,
    evaluationPeriods,
  });
  alarm("SweeperErrors", {
    alarmDescription: "The reservation sweeper failed: expired holds are not being released.",
    metric: sweeperErrors,
    threshold: a.sweeperErrors,
    comparisonOperator: cw.ComparisonOperator.GREATER_THAN_THRESHOLD,
    evaluationPeriods,
  });
  alarm("ScriptErrors", {
    alarmDescription: "Redis answered a Lua script with an error: a bug, not an outage. Buys answer 500; retrying will not help.",
    metric: appMetric(Metric.ScriptErrors),
    threshold: 0,
    comparisonOperator: cw.ComparisonOperator.GREATER_THAN_THRESHOLD,
    evaluationPeriods: 1,
  });
  alarm("QueueCircuitOpen", {
    alarmDescription: "The circuit breaker around the orders queue opened in at least one buy function: buys answer 503 at once.",
    metric: appMetric(Metric.QueueCircuitOpened),
    threshold: 0,
    comparisonOperator: cw.ComparisonOperator.GREATER_THAN_THRESHOLD,
    evaluationPeriods: 1,
  });
  if (cache) {
    alarm("CacheThrottled", {
      alarmDescription: "ElastiCache Serverless throttled commands (ThrottledCmds): the ECPU limit was hit or traffic grew faster than the cache scales.",
      metric: cacheThrottled,
      threshold: a.cacheThrottledCmds,
      comparisonOperator: cw.ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 1,
    });
    alarm("CacheEcpuHigh", {
      alarmDescription: `The cache consumed more than ${a.cacheEcpuPercent} % of its ECPU/s limit (cache.maxEcpuPerSecond = ${config.cache.maxEcpuPerSecond}).`,
      metric: cacheEcpuPercent,
      threshold: a.cacheEcpuPercent,
      comparisonOperator: cw.ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods,
    });
  }
  alarm("Api5xx", {
    alarmDescription: "The HTTP API returned 5xx responses.",
    metric: api5xx,
    threshold: a.api5xx,
    comparisonOperator: cw.ComparisonOperator.GREATER_THAN_THRESHOLD,
    evaluationPeriods,
  });
  alarm("BuyLatencyP99", {
    alarmDescription: `POST /buy Lambda duration p99 above ${a.buyP99LatencyMs} ms.`,
    metric: buyP99,
    threshold: a.buyP99LatencyMs,
    comparisonOperator: cw.ComparisonOperator.GREATER_THAN_THRESHOLD,
    evaluationPeriods,
  });

  alarm("FailureRate", {
    alarmDescription: `More than ${a.failureRatePercent} % of processed orders failed (sold out, limit, payment, expired).`,
    metric: failureRate,
    threshold: a.failureRatePercent,
    comparisonOperator: cw.ComparisonOperator.GREATER_THAN_THRESHOLD,
    evaluationPeriods,
  });
  alarm("ProcessingLatencyP99", {
    alarmDescription: `Order processing p99 above ${a.processingP99Ms} ms (payment or DynamoDB slow?).`,
    metric: processingP99,
    threshold: a.processingP99Ms,
    comparisonOperator: cw.ComparisonOperator.GREATER_THAN_THRESHOLD,
    evaluationPeriods,
  });
  alarm("InventoryLow", {
    alarmDescription: `An item on sale has fewer than ${a.inventoryLowUnits} units left (the dashboard shows which).`,
    metric: inventoryMin,
    threshold: a.inventoryLowUnits,
    comparisonOperator: cw.ComparisonOperator.LESS_THAN_THRESHOLD,
    evaluationPeriods: 1,
  });

  // --- dashboard -----------------------------------------------------------------------
  const dashboardName = app.logicalPrefixedName("dashboard");
  const dashboard = new cw.Dashboard(stack, "Dashboard", { dashboardName });
  dashboard.addWidgets(
    new cw.TextWidget({
      markdown: `# ${app.name} / ${app.stage}\nOrders: POST /buy -> ${queue ? "SQS" : "MSK topic"} \`orders\` -> processor -> DynamoDB. Custom metrics: namespace \`${METRICS_NAMESPACE}\`, dimensions \`service=${SERVICE_NAME}\`, \`stage=${app.stage}\`.`,
      width: 24,
      height: 2,
    }),
  );
  dashboard.addWidgets(
    graph("Traffic: orders received / accepted / rejected; item views", [
      appMetric(Metric.OrdersReceived),
      appMetric(Metric.OrdersAccepted),
      appMetric(Metric.OrdersRejected),
    ], [appMetric(Metric.ItemViewed)]),
    graph("Outcomes: orders completed / failed", [appMetric(Metric.OrdersCompleted), appMetric(Metric.OrdersFailed)], [failureRate]),
  );
  dashboard.addWidgets(
    graph("Rejections by reason", [
      ...Order.REJECTION_REASONS.map((reason) => appMetric(rejectedMetric(reason))),
    ], [appMetric(Metric.EnqueueFailed)]),
    graph("Processor outcomes: sold out / limit / payment / expired / dead-lettered", [
      ...Order.FINAL_STATUSES.filter((s): s is Order.FailureStatus => s !== "COMPLETED").map((status) => appMetric(failedMetric(status))),
      appMetric(Metric.OrdersExpired),
      appMetric(Metric.OrdersDeadLettered),
    ]),
  );
  dashboard.addWidgets(
    graph("Buy latency (ms)", [appMetric(Metric.BuyDuration, "p50"), appMetric(Metric.BuyDuration, "p99")], [
      buyP99.with({ label: "buy Lambda Duration p99" }),
    ]),
    graph("HTTP API requests / 4xx / 5xx", [apiCount], [api4xx, api5xx]),
  );
  dashboard.addWidgets(...transportWidgets);
  dashboard.addWidgets(
    graph("Processor invocations / concurrency", [processorInvocations], [processorConcurrency]),
    graph("Processor errors / throttles", [processorErrors, processorThrottles]),
  );
  dashboard.addWidgets(
    graph("Sweeper invocations / errors", [sweeperInvocations], [sweeperErrors]),
    graph("Queue circuit breaker: state changes (per execution environment)", [
      appMetric(Metric.QueueCircuitOpened),
      appMetric(Metric.QueueCircuitHalfOpened),
      appMetric(Metric.QueueCircuitClosed),
    ]),
    ...(cache ? [graph("Cache ECPU (% of limit) / throttled commands", [cacheEcpuPercent], [cacheThrottled])] : []),
  );
  dashboard.addWidgets(
    graph("Processing duration (ms)", [appMetric(Metric.ProcessingDuration, "p50"), processingP99], [appMetric(Metric.OrdersProcessed)]),
    graph("Inventory remaining per item", [inventoryPerItem]),
  );
  dashboard.addWidgets(
    new cw.AlarmStatusWidget({
      title: "Alarms",
      alarms: stack.node.children.filter((c): c is cw.Alarm => c instanceof cw.Alarm),
      width: 24,
      height: 3,
    }),
  );

  /** SQS: the DLQ's depth and age, the orders queue's oldest message. */
  function sqsAlarms(queue: sqs.IQueue, dlq: sqs.IQueue): cw.IWidget[] {
    const dlqVisible = dlq.metricApproximateNumberOfMessagesVisible({ period, statistic: "Maximum" });
    const dlqAge = dlq.metricApproximateAgeOfOldestMessage({ period, statistic: "Maximum" });
    const queueVisible = queue.metricApproximateNumberOfMessagesVisible({ period, statistic: "Maximum" });
    const queueInFlight = queue.metricApproximateNumberOfMessagesNotVisible({ period, statistic: "Maximum" });
    const queueAge = queue.metricApproximateAgeOfOldestMessage({ period, statistic: "Maximum" });
    alarm("DlqNotEmpty", {
      alarmDescription: "Orders landed in the DLQ (processing failed maxReceiveCount times or was unparseable).",
      metric: dlqVisible,
      threshold: 0,
      comparisonOperator: cw.ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 1,
    });
    alarm("DlqOldestMessageAge", {
      alarmDescription: `The oldest DLQ message is older than ${a.dlqOldestMessageAgeSeconds} s: nobody is redriving.`,
      metric: dlqAge,
      threshold: a.dlqOldestMessageAgeSeconds,
      comparisonOperator: cw.ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 1,
    });
    alarm("QueueOldestMessageAge", {
      alarmDescription:
        `The oldest order in the orders queue waited more than ${queueAgeAlarmSeconds(config)} s, a third of the ` +
        `reservation TTL (${config.sweeper.reservationTtlSeconds} s): the sweeper may expire holds whose message is still queued.`,
      metric: queueAge,
      threshold: queueAgeAlarmSeconds(config),
      comparisonOperator: cw.ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 1,
    });
    return [
      graph("Orders queue depth", [queueVisible, queueInFlight], [queueAge.with({ label: "oldest message age (s)" })], [
        { value: queueAgeAlarmSeconds(config), label: "age alarm (TTL / 3)" },
      ]),
      graph("DLQ depth / oldest age", [dlqVisible], [dlqAge.with({ label: "oldest message age (s)" })]),
    ];
  }

  /**
   * MSK: the processor's consumer lag, in records (the mapping's OffsetLag) and in time (MSK's EstimatedMaxTimeLag of
   * the consumer group: the analogue of the queue's oldest message), records written to the dead-letter topic, and
   * dead letters nobody redrove (the redrive group's lag on the dead-letter topic; MSK publishes a group's lag once
   * the group has committed offsets, so this one starts with the first `ops redrive`).
   */
  function kafkaAlarms(k: { clusterName: string; topics: { orders: string; deadLetter: string }; consumerGroup: string }): cw.IWidget[] {
    const offsetLag = processor.metric("OffsetLag", { period, statistic: "Maximum" });
    const mskMetric = (metricName: string, dimensions: Record<string, string>, statistic = "Maximum") =>
      new cw.Metric({ namespace: "AWS/Kafka", metricName, dimensionsMap: { "Cluster Name": k.clusterName, ...dimensions }, statistic, period });
    const timeLag = mskMetric("EstimatedMaxTimeLag", { "Consumer Group": k.consumerGroup, Topic: k.topics.orders });
    const dltIn = mskMetric("MessagesInPerSec", { Topic: k.topics.deadLetter });
    const ordersIn = mskMetric("MessagesInPerSec", { Topic: k.topics.orders });
    const notRedriven = mskMetric("SumOffsetLag", { "Consumer Group": `${k.topics.deadLetter}${ORDERS_TOPIC.redriveGroupSuffix}`, Topic: k.topics.deadLetter });
    alarm("ConsumerOffsetLag", {
      alarmDescription: `The processor is more than ${a.consumerOffsetLagRecords} records behind on the orders topic (OffsetLag): a backlog, or a partition held by a failing record.`,
      metric: offsetLag,
      threshold: a.consumerOffsetLagRecords,
      comparisonOperator: cw.ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods,
    });
    alarm("ConsumerTimeLag", {
      alarmDescription:
        `The processor's consumer group is more than ${queueAgeAlarmSeconds(config)} s behind on the orders topic (EstimatedMaxTimeLag), ` +
        `a third of the reservation TTL (${config.sweeper.reservationTtlSeconds} s).`,
      metric: timeLag,
      threshold: queueAgeAlarmSeconds(config),
      comparisonOperator: cw.ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 1,
    });
    alarm("DeadLetterTopicWrites", {
      alarmDescription: `Orders were written to the dead-letter topic ${k.topics.deadLetter} (unparseable, failed MAX_RECEIVE_COUNT times, or the mapping's retries ran out).`,
      metric: dltIn,
      threshold: 0,
      comparisonOperator: cw.ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 1,
    });
    alarm("DeadLetterTopicNotRedriven", {
      alarmDescription: `Dead letters have waited unredriven for more than ${a.dlqOldestMessageAgeSeconds} s (the redrive group's lag on ${k.topics.deadLetter}).`,
      metric: notRedriven,
      threshold: 0,
      comparisonOperator: cw.ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: Math.max(1, Math.ceil(a.dlqOldestMessageAgeSeconds / a.periodSeconds)),
    });
    return [
      graph("Orders topic: records in / consumer lag", [ordersIn, offsetLag.with({ label: "OffsetLag (records)" })], [timeLag.with({ label: "EstimatedMaxTimeLag (s)" })], [
        { value: queueAgeAlarmSeconds(config), label: "time lag alarm (TTL / 3)" },
      ]),
      graph("Dead-letter topic: records in / not redriven", [dltIn], [notRedriven.with({ label: "not redriven (records)" })]),
    ];
  }

  stack.addOutputs({
    DashboardUrl: `https://${stack.region}.console.aws.amazon.com/cloudwatch/home?region=${stack.region}#dashboards/dashboard/${dashboardName}`,
    AlarmTopicArn: topic.topicArn,
  });

  return { topic, dashboard };
}

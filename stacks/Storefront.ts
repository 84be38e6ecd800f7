import { StaticSite, use, type StackContext } from "sst/constructs";
import { Duration, RemovalPolicy } from "aws-cdk-lib";
import * as cloudfront from "aws-cdk-lib/aws-cloudfront";
import { S3BucketOrigin } from "aws-cdk-lib/aws-cloudfront-origins";
import * as s3 from "aws-cdk-lib/aws-s3";
import { NagSuppressions } from "cdk-nag";
import { getStageConfig } from "./config.js";
import { Api } from "./Api.js";

/** The storefront's files, as they are (no build step): the same folder `npm start` serves at `/`. */
export const STOREFRONT_PATH = "storefront";

/** Days per log retention setting of the stage config, for the log bucket's expiry. */
const RETENTION_DAYS = { one_week: 7, two_weeks: 14, one_month: 30, three_months: 90, six_months: 180, one_year: 365 } as const;

/**
 * The storefront as an SST StaticSite: the files of storefront/ in a private S3 bucket behind CloudFront (origin
 * access control), with the API's URL and the stage's storefront settings written into config.js at deploy.
 * The API allows the site's origin by CORS from the stage config (apiCorsOrigins in stacks/config.ts).
 */
export function Storefront({ stack, app }: StackContext) {
  const config = getStageConfig(app.stage);
  const site = config.storefront;
  const { api } = use(Api);
  // Like the orders table: kept on the long-lived stages. (Only those deploy a storefront: see storefront.enabled.)
  const removalPolicy = config.retainData ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY;

  const logs = site.accessLogs
    ? new s3.Bucket(stack, "StorefrontLogs", {
        blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
        encryption: s3.BucketEncryption.S3_MANAGED,
        enforceSSL: true,
        // CloudFront's standard logs are delivered with an ACL: the bucket must accept object ACLs.
        objectOwnership: s3.ObjectOwnership.OBJECT_WRITER,
        lifecycleRules: [{ expiration: Duration.days(RETENTION_DAYS[config.logRetention]) }],
        removalPolicy,
      })
    : undefined;

  const bucket = new s3.Bucket(stack, "StorefrontFiles", {
    blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
    encryption: s3.BucketEncryption.S3_MANAGED,
    enforceSSL: true,
    removalPolicy,
    ...(logs ? { serverAccessLogsBucket: logs, serverAccessLogsPrefix: "s3/" } : {}),
  });

  const storefront = new StaticSite(stack, "Storefront", {
    path: STOREFRONT_PATH,
    customDomain: site.domain,
    // An unresolved value (the API's URL) replaces "{{ API_URL }}" in the site's .js and .html files at deploy.
    environment: { API_URL: api.url },
    replaceValues: [
      { files: "config.js", search: "{{ STOREFRONT_AUTH }}", replace: String(site.auth) },
      { files: "config.js", search: "{{ STOREFRONT_ITEMS }}", replace: site.items.join(",") },
    ],
    assets: {
      // The files carry no content hash in their names: browsers ask again each time (SST's default would have them
      // cached for a year), and each deploy invalidates CloudFront's copies.
      fileOptions: [{ files: ["**/*.js", "**/*.css"], cacheControl: "max-age=0,no-cache,no-store,must-revalidate" }],
    },
    cdk: {
      bucket,
      distribution: {
        comment: `${app.name} ${app.stage} storefront`,
        minimumProtocolVersion: cloudfront.SecurityPolicyProtocol.TLS_V1_2_2021,
        ...(logs ? { enableLogging: true, logBucket: logs, logFilePrefix: "cloudfront/" } : {}),
        defaultBehavior: {
          // origin access control, instead of the legacy origin access identity SST would set up
          origin: S3BucketOrigin.withOriginAccessControl(bucket),
          viewerProtocolPolicy: cloudfront.ViewerProtocolPolicy.REDIRECT_TO_HTTPS,
        },
      },
    },
  });

  suppressNagFindings(stack, config.storefront, storefront, logs);
  stack.addOutputs({ StorefrontUrl: storefront.customDomainUrl ?? storefront.url });
  return { storefront, bucket };
}

function suppressNagFindings(
  stack: StackContext["stack"],
  site: ReturnType<typeof getStageConfig>["storefront"],
  storefront: StaticSite,
  logs: s3.Bucket | undefined,
) {
  const distribution = storefront.cdk!.distribution;
  NagSuppressions.addResourceSuppressions(distribution, [
    {
      id: "AwsSolutions-CFR1",
      reason: "A public shop sells wherever its buyers are; which countries may buy is the API's and the payment provider's business, not the static files'.",
    },
    {
      id: "AwsSolutions-CFR2",
      reason: "The distribution serves a handful of static files; the API, where orders are taken, is a separate origin with its own throttling and per-buyer rate limits. A web ACL here would guard only the files.",
    },
    ...(site.domain
      ? []
      : [
          {
            id: "AwsSolutions-CFR4",
            reason: "Without storefront.domain the site uses CloudFront's default certificate (*.cloudfront.net), whose viewer TLS policy CloudFront sets; with a custom domain the distribution requires TLSv1.2_2021.",
          },
        ]),
    ...(logs
      ? []
      : [
          {
            id: "AwsSolutions-CFR3",
            reason: "Access logs are a per-stage setting (storefront.accessLogs), on for production; this stage's site serves test traffic only.",
          },
        ]),
  ]);
  if (!logs) {
    NagSuppressions.addResourceSuppressions(storefront.cdk!.bucket, [
      {
        id: "AwsSolutions-S1",
        reason: "Access logs are a per-stage setting (storefront.accessLogs), on for production; this stage's site serves test traffic only.",
      },
    ]);
  } else {
    NagSuppressions.addResourceSuppressions(logs, [
      { id: "AwsSolutions-S1", reason: "It is the storefront's log bucket (CloudFront and S3 access logs): logging its own access would log the logging." },
    ]);
  }
  // SST's deploy-time handler (the stack's CustomResourceHandler) uploads the files: its S3UploaderPolicy allows
  // PutObject/DeleteObject on the site bucket's objects and GetObject on the CDK asset bucket's. That policy is made
  // when the app is finished (after this function), so the suppression is the stack's, limited to those two resources.
  NagSuppressions.addStackSuppressions(stack, [
    {
      id: "AwsSolutions-IAM5",
      reason: "SST's deploy-time uploader (S3UploaderPolicy) writes and deletes the objects of the storefront bucket only (<bucket>/*), and reads the CDK asset bucket's objects it uploads from.",
      appliesTo: [
        { regex: "/^Resource::<StorefrontFiles[0-9A-F]{8}\\.Arn>\\/\\*$/" },
        { regex: "/^Resource::arn:<AWS::Partition>:s3:::cdk-[a-z0-9]+-assets-[0-9]{12}-[a-z0-9-]+\\/\\*$/" },
      ],
    },
  ]);
}

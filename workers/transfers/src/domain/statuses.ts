/** The states of this service's records, shared by the schema, the services and the routes' documents. */

/** A transfer's outcome: pending while its flow runs, then completed, failed, or waiting for an operator. */
export const transferStatuses = ["PENDING", "COMPLETED", "FAILED", "NEEDS_ATTENTION"] as const;
export type TransferStatus = (typeof transferStatuses)[number];

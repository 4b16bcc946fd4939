/** The states of this service's records, shared by the schema, the services and the routes' documents. */

/** A payment's life, from pending through authorized to completed, failed or voided. */
export const paymentStatuses = ["PENDING", "AUTHORIZED", "COMPLETED", "FAILED", "VOIDED", "NEEDS_ATTENTION"] as const;
export type PaymentStatus = (typeof paymentStatuses)[number];

/** A refund's outcome. */
export const refundStatuses = ["PENDING", "COMPLETED", "FAILED", "NEEDS_ATTENTION"] as const;
export type RefundStatus = (typeof refundStatuses)[number];

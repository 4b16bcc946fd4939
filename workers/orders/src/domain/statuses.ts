/** The states of this service's records, shared by the schema, the services and the routes' documents. */

/** An order's life: placed, paid for (stock and payment agreed), confirmed or cancelled. */
export const orderStatuses = ["PENDING", "PAYMENT_AUTHORIZED", "CONFIRMED", "CANCELLED"] as const;
export type OrderStatus = (typeof orderStatuses)[number];

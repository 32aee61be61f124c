/** The shape of an order's shipping address, kept as JSON in `orders.shipping_address` in both databases. */
export interface ShippingAddress {
  name: string;
  line1: string;
  city: string;
  postalCode: string;
  country: string;
}

/** A line a refund names: which units of the order it pays back. */
export interface RefundLine {
  sku: string;
  quantity: number;
}

/**
 * The order ids a worker process has found in its database. Every job names an order, and a job
 * for an order the database does not know belongs to another deployment on the same prefix; since
 * orders are never deleted, an order found once needs no second look for its later jobs.
 */
/** A bounded set of order ids: the oldest added goes first once it is full. */
export class KnownOrders {
  private readonly ids = new Set<string>();

  constructor(private readonly capacity: number) {}

  has(id: string): boolean {
    return this.ids.has(id);
  }

  add(id: string): void {
    this.ids.add(id);
    if (this.ids.size > this.capacity) this.ids.delete(this.ids.values().next().value!);
  }
}

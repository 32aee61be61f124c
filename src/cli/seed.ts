/**
 * `orders seed`: puts a small demo catalog in the database. Idempotent: running it again sets
 * names, prices and units for sale back to the demo levels (units reserved for or shipped to
 * orders are left as they are).
 */
import type { Command } from 'commander';
import type { ProductInput } from '../db/stock.ts';
import { printJson, printLines, table } from './output.ts';
import { runWith } from './run.ts';

export const DEMO_CATALOG: readonly ProductInput[] = [
  { sku: 'DEMO-MUG', name: 'Enamel camping mug', priceCents: 1_200, stock: 100_000 },
  { sku: 'DEMO-TEE', name: 'Organic cotton T-shirt', priceCents: 2_500, stock: 100_000 },
  { sku: 'DEMO-CAP', name: 'Six-panel cap', priceCents: 1_800, stock: 100_000 },
  { sku: 'DEMO-BAG', name: 'Canvas tote bag', priceCents: 1_500, stock: 100_000 },
  { sku: 'DEMO-PEN', name: 'Brass fountain pen', priceCents: 4_900, stock: 5_000 },
];

export function seedCommand(program: Command): void {
  program
    .command('seed')
    .description('create the demo catalog, or reset it: re-running sets units for sale back to the demo levels')
    .option('--json', 'print JSON: {products: [{sku, name, priceCents, available, created}]}')
    .action(
      runWith(async (session, options: { json?: boolean }) => {
        const db = await session.db({ create: true });
        const { upsertProduct } = await import('../db/stock.ts');
        const now = Date.now();
        const products = [];
        for (const input of DEMO_CATALOG) {
          const { product, created } = await upsertProduct(db, input, now);
          products.push({
            sku: product.sku,
            name: product.name,
            priceCents: product.priceCents,
            available: product.available,
            created,
          });
        }
        if (options.json) return printJson({ products });
        printLines([
          `demo catalog in ${session.databaseName}: ${products.filter((p) => p.created).length} created, ${products.filter((p) => !p.created).length} reset`,
          '',
          ...table(
            ['SKU', 'NAME', 'PRICE', 'AVAILABLE'],
            products.map((p) => [p.sku, p.name, (p.priceCents / 100).toFixed(2), p.available]),
          ),
        ]);
      }),
    );
}

/**
 * What a flash sale costs and how far one account scales: npm run capacity -- --rps 20000 --stock 5000
 * (npm run capacity -- --help). The model is scripts/capacity/model.ts; docs/capacity.md explains it.
 */
import { runCapacity } from "./capacity/cli";

const code = await runCapacity(process.argv.slice(2), { out: (l) => console.log(l), err: (l) => console.error(l) });
process.exit(code);

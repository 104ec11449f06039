/**
 * Command line of bench/run.mjs:
 *   --smoke           tiny sizes, one run: checks that every case still works (CI)
 *   --only W1,W4      workloads whose id starts with one of these
 *   --impl piscina    rows whose implementation starts with one of these
 *   --runs N          override the number of runs per row
 *   --docs-from FILE  rewrite docs/ from a saved full run (bench/results/latest.json), measuring nothing
 *   --help
 */
export const USAGE = `usage: node bench/run.mjs [--smoke] [--only W1,W6] [--impl multiprocessing,piscina] [--runs N] [--docs-from bench/results/latest.json]`;

/** @param {string[]} argv */
export function parseArgs(argv) {
  const options = { smoke: false, only: /** @type {string[]} */ ([]), impls: /** @type {string[]} */ ([]), runs: /** @type {number | undefined} */ (undefined), docsFrom: /** @type {string | undefined} */ (undefined), help: false };
  const list = (value) => String(value ?? '').split(',').map((s) => s.trim()).filter(Boolean);
  for (let i = 0; i < argv.length; i++) {
    const [flag, inline] = argv[i].split('=', 2);
    const value = () => inline ?? argv[++i];
    switch (flag) {
      case '--smoke': options.smoke = true; break;
      case '--only': options.only.push(...list(value())); break;
      case '--impl': options.impls.push(...list(value())); break;
      case '--runs': {
        const runs = Number(value());
        if (!Number.isInteger(runs) || runs < 1) throw new Error(`--runs needs a positive integer\n${USAGE}`);
        options.runs = runs;
        break;
      }
      case '--docs-from': options.docsFrom = value(); break;
      case '--help': case '-h': options.help = true; break;
      default: throw new Error(`unknown option ${argv[i]}\n${USAGE}`);
    }
  }
  return options;
}

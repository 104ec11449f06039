// Worker script for poolifier: a ThreadWorker with named task functions, called with `execute(data, name)`.
import { ThreadWorker } from 'poolifier';
import { cube, cubeAll, fib, sumValues, isPrime, isPrimeAll, digestRecord, digestRecords } from '../tasks.mjs';

export default new ThreadWorker({ cube, cubeAll, fib, sumValues, isPrime, isPrimeAll, digestRecord, digestRecords });

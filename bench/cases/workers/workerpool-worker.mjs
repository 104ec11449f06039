// Worker script for workerpool: methods are registered by name, called with `exec(name, [arg])`.
import workerpool from 'workerpool';
import { cube, cubeAll, fib, sumValues, isPrime, isPrimeAll, digestRecord, digestRecords } from '../tasks.mjs';

workerpool.worker({ cube, cubeAll, fib, sumValues, isPrime, isPrimeAll, digestRecord, digestRecords });

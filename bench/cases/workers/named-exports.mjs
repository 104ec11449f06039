// Worker module for piscina and tinypool: both call a named export of a file
// (`run(task, { name })`), with the task as its single argument.
export { cube, cubeAll, fib, sumValues, isPrime, isPrimeAll, digestRecord, digestRecords, waitTenMs } from '../tasks.mjs';

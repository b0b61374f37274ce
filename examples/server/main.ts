#!/usr/bin/env node
// `npm run serve`: loads the model, listens, and on SIGINT/SIGTERM stops accepting, answers what is in
// flight, closes the model and exits 0. A second signal exits at once (1).
import type { AddressInfo } from 'node:net';

import { backend, setThreads } from 'conv1x1';

import { parseServerArgs, USAGE, UsageError } from './args';
import { loadServiceModel } from './model';
import { createService } from './server';

function main(): void {
  const args = parseServerArgs(process.argv.slice(2));
  if (args.threads !== undefined) setThreads(args.threads);
  const { model, name, inputChannels } = loadServiceModel(args.model, args.weights);
  const modelConcurrency = args.modelConcurrency ?? backend().maxConcurrentCalls;
  const service = createService({ model, inputChannels, maxBodyBytes: args.maxBodyBytes, maxInFlight: args.maxInFlight, modelConcurrency });

  service.server.on('error', (error) => {
    console.error(`conv1x1 server: ${error.message}`);
    process.exit(1);
  });
  service.server.listen(args.port, args.host, () => {
    const { address, port } = service.server.address() as AddressInfo;
    const host = address.includes(':') ? `[${address}]` : address;
    const info = backend();
    // Tests and the load script read this line for the port.
    console.log(`conv1x1 server: listening on http://${host}:${port} (model: ${name}; backend ${info.name}, ` +
      `kernels ${info.kernels}, ${info.threads} thread(s) per call; model calls at once ${modelConcurrency}; ` +
      `max in flight ${args.maxInFlight}, max body ${args.maxBodyBytes} bytes)`);
  });

  let signalled = false;
  const stop = (signal: NodeJS.Signals) => {
    if (signalled) {
      console.error(`conv1x1 server: ${signal} again, exiting without waiting`);
      process.exit(1);
    }
    signalled = true;
    console.log(`conv1x1 server: ${signal}: draining ${service.admission.inFlight} request(s) in flight`);
    service.shutdown().then(
      () => {
        console.log('conv1x1 server: stopped');
        process.exit(0);
      },
      (error: unknown) => {
        console.error(`conv1x1 server: shutdown failed: ${(error as Error)?.stack ?? String(error)}`);
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

try {
  main();
} catch (error) {
  const usage = error instanceof UsageError || (error as { code?: string })?.code?.startsWith('ERR_PARSE_ARGS');
  console.error(`conv1x1 server: ${(error as Error).message}${usage ? `\n${USAGE}` : ''}`);
  process.exit(usage ? 2 : 1);
}

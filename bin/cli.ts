import { describeError, ResnetBatchError } from '../shared/errors.ts';
import { program } from './cli-program.ts';

// The one place an error thrown by a command is printed: `resnet-batch: CODE: message`, exit 1.
try {
  await program.parseAsync(process.argv);
} catch (error) {
  const code = error instanceof ResnetBatchError ? `${error.code}: ` : '';
  process.stderr.write(`resnet-batch: ${code}${describeError(error)}\n`);
  const { configValue } = await import('../shared/config.ts');
  if (configValue('DEBUG') && error instanceof Error && error.stack) process.stderr.write(`${error.stack}\n`);
  process.exitCode = 1;
}

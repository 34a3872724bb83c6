#!/usr/bin/env node
// Launcher: the CLI is TypeScript run through tsx's loader (a runtime dependency), so the
// package works from a clone without a build step.
import { register } from 'tsx/esm/api';

register();
await import('./cli.ts');

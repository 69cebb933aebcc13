import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { CliError, EXIT } from './cli-api.js';

// The job spec file of `distillery distill --spec`: JSON or YAML (an azureml-examples
// distillation_*.yaml is taken as it is). The `uri_file` inputs of an Azure ML job name local
// files, as `az ml job create --file` reads them: a relative path found next to the spec file is
// sent inline with its input, so the same YAML works unchanged. Other paths are artifact-store
// paths the server resolves (azure-ml-spec.ts).

const AZURE_ML_INPUTS = ['training_data', 'validation_data'] as const;

/** Parses a spec file; a file that is neither JSON nor YAML is a usage error naming the line. */
export function readSpecFile(file: string): unknown {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new CliError(`Cannot read ${file}: ${(err as Error).message}`, EXIT.usage);
  }
  let spec: unknown;
  try {
    // YAML 1.2 is a superset of JSON: one parser takes both.
    spec = parseYaml(text, { prettyErrors: true });
  } catch (err) {
    throw new CliError(`${file} is neither JSON nor YAML: ${(err as Error).message}`, EXIT.usage);
  }
  if (!spec || typeof spec !== 'object' || Array.isArray(spec)) throw new CliError(`${file} must hold one object (the job spec).`, EXIT.usage);
  return inlineLocalInputs(spec as Record<string, unknown>, path.dirname(path.resolve(file)));
}

function inlineLocalInputs(spec: Record<string, unknown>, dir: string): Record<string, unknown> {
  const out = { ...spec };
  for (const key of AZURE_ML_INPUTS) {
    const input = out[key] as { type?: unknown; path?: unknown } | undefined;
    if (!input || typeof input !== 'object' || Array.isArray(input) || typeof input.path !== 'string') continue;
    if (input.type !== 'uri_file' || /^[a-z][a-z0-9+.-]*:/i.test(input.path) || path.isAbsolute(input.path)) continue;
    const local = path.resolve(dir, input.path);
    if (existsSync(local)) out[key] = { ...input, jsonl: readFileSync(local, 'utf8') };
  }
  return out;
}

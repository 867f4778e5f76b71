// Hostile user code: a map-only app that writes its whole environment into the job's output.
import { registerApp } from 'kubemr/app';

registerApp({
  map: () => Object.entries(process.env).map(([key, value]) => ({ key, value: value ?? '' })),
});

/** Which backend each job runs on: its purpose's, as Settings choose it, or ONNX Runtime for a perceptual training. */
import type { BackendChoice, Purpose } from '../../ml/backend-choice.ts';
import { trainingBackend } from '../../ml/train/objective.ts';
import type { BackendSettings } from '../api.ts';
import type { JobRequest, JobType } from './protocol.ts';

export const JOB_PURPOSE: { [T in JobType]: Purpose } = {
  upscale: 'upscale',
  'compare-models': 'upscale',
  train: 'train',
  compare: 'train',
  features: 'train',
};

/**
 * The purpose of a job and the backend choice it runs on: the purpose's own, with the command
 * line's rule for the objective (`trainingBackend`: auto trains a perceptual run or comparison on
 * ONNX Runtime; a backend named in Settings stays as named). A continued run that names no
 * objective trains on the purpose's backend.
 */
export function jobBackend(job: JobRequest, backends: BackendSettings): { purpose: Purpose; choice: BackendChoice } {
  const purpose = JOB_PURPOSE[job.type];
  const choice = backends[purpose];
  const objective = job.type === 'train' || job.type === 'compare' ? job.spec.settings.objective : undefined;
  return { purpose, choice: trainingBackend(choice, objective) };
}

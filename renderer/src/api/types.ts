/** The renderer's view of the shared contract (main/api.ts) and the ml names it mentions. Types only. */
export type * from '../../../main/api.ts';
export type { ActivationName } from '../../../ml/activations.ts';
export type { BackendChoice, BackendProbe } from '../../../ml/backend-choice.ts';
export type { DegradeName } from '../../../ml/degrade.ts';
export type { NetworkConfig, PresetName, Scale } from '../../../ml/network.ts';
export type { CompareReport, Stat } from '../../../ml/train/compare.ts';
export type { Objective } from '../../../ml/train/objective.ts';
export type { ErrorCode, ErrorData, Facts } from '../../../ml/errors.ts';

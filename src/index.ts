/**
 * tollgate's public API. Named exports only: what is not here is internal and may change.
 */
export { createTollgate } from './runtime/create-tollgate.ts';
export type { Tollgate, HistoryOptions } from './runtime/create-tollgate.ts';
export type { TollgateOptions, DatabaseOptions } from './runtime/options.ts';
export type { SendOptions, SendResult } from './runtime/gate.ts';
export type { DryRunResult } from './runtime/dry-run.ts';
export type { CreateResult } from './runtime/create-entity.ts';
export type { ImportOptions, ImportReport, ImportSource } from './runtime/import-entities.ts';
export type { ImportRecord, ImportLineError } from './runtime/import-record.ts';
export type { Observation, ObservationView, ShadowReport, ShadowReportLine, ShadowReportOptions, ModeSwitchView } from './runtime/shadow.ts';
export type { ModeStatus } from './runtime/machine-mode.ts';
export type { Verdict } from './store/shadow-store.ts';
export type { EntityView, TransitionView, EffectView, TimerView, RejectionView } from './runtime/views.ts';
export type { EffectFollowUpOutcome } from './store/rows.ts';
export type { Policy, PolicyDecision, PolicyRequest } from './policy/policy.ts';
export { defineMachine } from './engine/definition.ts';
export { MAX_TIMER_DELAY_MS } from './engine/timer-delay.ts';
export type { MachineDefinition, AnyMachineDefinition, MachineRegistry, MachineMode, EventOf, InputOf } from './engine/definition.ts';
export { TollgateError, isTollgateError, errorRegistry } from './errors.ts';
export type { TollgateErrorCode, ErrorDetails } from './errors.ts';
export { ManualClock, systemClock } from './clock.ts';
export type { Clock } from './clock.ts';
export { RetryableError, TerminalError } from './effects/errors.ts';
export type {
  EffectContext,
  EffectHandler,
  EffectHandlerOptions,
  EffectOutcome,
  EnqueueOptions,
  EnqueuedEvent,
  EventOutcome,
} from './effects/registry.ts';
export { defineConfig } from './config/define-config.ts';
export type { TollgateConfig, RegisterHandlers } from './config/define-config.ts';
export type { LifecycleEvent } from './feed/event.ts';
export type { TransitionHandler, TransitionHandlerOptions } from './runtime/transition-handlers.ts';
export { verifyWebhookSignature, signWebhook } from './feed/signature.ts';
export type { VerifyWebhookOptions } from './feed/signature.ts';
export type { Governance, PolicyStatus, PolicySwitchView, FreezeView, FreezeSpec, ChangeBy } from './runtime/governance.ts';
export type { FreezeScope } from './store/rows.ts';
export type { OverrideRequest, OverrideResult } from './runtime/override.ts';
export type { AuditOptions, AuditReport, AuditProgress, DriftCount } from './audit/run-audit.ts';
export type { DriftKind, DriftFinding, EntityDrift } from './audit/drift.ts';
export type { VersionStats, VersionStatsOptions, VersionShare, TransitionShares, StateShares } from './runtime/version-stats.ts';

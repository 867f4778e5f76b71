// Original file: proto/kubemr.proto

export const Directive = {
  DIRECTIVE_UNSPECIFIED: 'DIRECTIVE_UNSPECIFIED',
  RUN: 'RUN',
  WAIT: 'WAIT',
  EXIT: 'EXIT',
} as const;

export type Directive =
  | 'DIRECTIVE_UNSPECIFIED'
  | 0
  | 'RUN'
  | 1
  | 'WAIT'
  | 2
  | 'EXIT'
  | 3

export type Directive__Output = typeof Directive[keyof typeof Directive]

/** Rejected `touch` or `end` input: the message says which field and why. Nothing is stored. */
export class InvalidSessionError extends TypeError {
  constructor(
    readonly field: string,
    problem: string,
  ) {
    super(`Invalid session ${field}: ${problem}`);
    this.name = 'InvalidSessionError';
  }
}

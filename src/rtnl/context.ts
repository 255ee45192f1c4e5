/** What the rtnetlink wrappers need from the namespace they act in. */
import type { RtnlConnection } from '../kernel/rtnl-connection';

export interface RtnlContext {
  /** The namespace's cached rtnetlink connection, opened on first use. */
  connection(): Promise<RtnlConnection>;
  /** A description for error messages, e.g. `netns "web1"`. */
  readonly label: string;
}

/**
 * Output refreshed in place: on a terminal each frame is drawn over the last
 * (cursor moved up, the rest erased; the screen cleared when the last frame
 * was taller than the terminal), with the cursor hidden until close(); into
 * a pipe, frames follow each other.
 */
export class LiveScreen {
  private shownLines = 0;
  private readonly terminal = process.stdout.isTTY === true;

  show(frame: string): void {
    if (!this.terminal) {
      process.stdout.write(frame);
      return;
    }
    // A terminal that does not say its height (0) is taken as tall enough.
    const rows = process.stdout.rows || Infinity;
    let prefix = '\x1b[?25l';
    if (this.shownLines >= rows) prefix = '\x1b[H\x1b[2J';
    else if (this.shownLines > 0) prefix = `\x1b[${this.shownLines}F\x1b[J`;
    process.stdout.write(prefix + frame);
    this.shownLines = frame.split('\n').length - 1;
  }

  /** Shows the cursor again. */
  close(): void {
    if (this.terminal && this.shownLines > 0) process.stdout.write('\x1b[?25h');
  }
}

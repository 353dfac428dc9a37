/* What medreg prints to a terminal cannot command it.
 *
 * Error messages, names, identifiers and file names that medreg prints come
 * from services, other users and other machines. On a terminal a control
 * character among them is an instruction: ESC sequences set the window
 * title, write the clipboard (OSC 52), redraw the screen so that a message
 * says something else; C1 controls (U+0080 to U+009F) do the same on the
 * terminals that obey them. When stdout or stderr is a terminal, medreg
 * prints through a guard that shows every C0 control but tab, line feed and
 * carriage return, DEL, every C1 control and every byte that is not UTF-8
 * as '?', as GNU ls does for file names. Files and pipes get the bytes as
 * they are. */
#ifndef MR_CLI_TTY_GUARD_H
#define MR_CLI_TTY_GUARD_H

#include <stddef.h>
#include <stdio.h>

/* The state between two pieces of one stream: the start of a UTF-8
 * sequence that the next piece completes. */
typedef struct cli_tty_state {
    unsigned char held[4];
    size_t n, need;
} cli_tty_state;

/* Clean in[0..len-1] into out, which holds at least len + 4 bytes (a
 * sequence held from before comes out first); *out_len its length. A
 * sequence cut at the end is held in st; last: nothing follows, so it is
 * let out ('?' each, being incomplete). */
void cli_tty_clean(cli_tty_state *st, const char *in, size_t len, int last, char *out, size_t *out_len);

/* Put the guard on *stream (stdout or stderr) if it is a terminal: *stream
 * becomes a stream that cleans what it writes to the same descriptor, line
 * buffered for stdout, unbuffered for stderr, as before. Returns 0, or -1
 * if the guard could not be made (the stream is left as it was). */
int cli_tty_guard(FILE **stream);
/* Take the guard off again (flushing what it holds): *stream becomes
 * original, what it was before cli_tty_guard. Nothing if it had none. */
void cli_tty_unguard(FILE **stream, FILE *original);

#endif

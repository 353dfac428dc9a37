/* The terminal guard: controls and broken UTF-8 shown as '?', every script
 * and tab and line breaks kept, sequences cut between two writes, and the
 * guard on a real pseudo-terminal against the bytes that reach a file. */
#include <pty.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../../../src/cli/tty_guard.h"
#include "../check.h"

/* clean the whole of in, cut into pieces of `piece` bytes */
static const char *clean(const char *in, size_t len, size_t piece)
{
    static char out[1024];
    cli_tty_state st = {0};
    size_t o = 0;
    for (size_t at = 0; at < len || (at == 0 && len == 0); at += piece) {
        size_t n = len - at < piece ? len - at : piece, got = 0;
        cli_tty_clean(&st, in + at, n, at + n >= len, out + o, &got);
        o += got;
        if (len == 0)
            break;
    }
    out[o] = 0;
    return out;
}

#define CLEAN(lit) clean(lit, sizeof lit - 1, sizeof lit)

static void cases(void)
{
    CHECK_STR(CLEAN("plain text, Tab\tand CR LF\r\n"), "plain text, Tab\tand CR LF\r\n");
    CHECK_STR(CLEAN("Zoë Ñúñez 山田 太郎 Ελένη Мария أحمد 🙂"), "Zoë Ñúñez 山田 太郎 Ελένη Мария أحمد 🙂");
    /* OSC 52 writes the clipboard; ESC [ 2 J clears the screen */
    CHECK_STR(CLEAN("a\x1b]52;c;cm0gLXJmIH4=\x07z"), "a?]52;c;cm0gLXJmIH4=?z");
    CHECK_STR(CLEAN("\x1b[2J\x1b[1;1H"), "?[2J?[1;1H");
    CHECK_STR(CLEAN("bell\a back\b nul-less vt\v ff\f del\x7f"), "bell? back? nul-less vt? ff? del?");
    /* C1 in UTF-8 (U+009B CSI, U+009D OSC), and as bare bytes */
    CHECK_STR(CLEAN("\xc2\x9b" "2J \xc2\x9d" "0;t\xc2\x9c"), "?2J ?0;t?");
    CHECK_STR(CLEAN("\x9b" "2J \x85"), "?2J ?");
    /* U+00A0 and U+0080's neighbours that are printable stay */
    CHECK_STR(CLEAN("\xc2\xa0\xc2\xbf"), "\xc2\xa0\xc2\xbf");
    /* not UTF-8: overlong, surrogate-free lead past U+10FFFF, cut short, lone continuation */
    CHECK_STR(CLEAN("\xc0\xaf|\xf5\x80|\xe2\x82|\xbf"), "??|??|?|?");
    CHECK_STR(CLEAN("end\xe2\x82"), "end?");
    CHECK_STR(clean("", 0, 1), "");

    /* the same texts cut at every byte give the same result */
    static const char *const TEXTS[] = {"Zoë 山田 🙂 \xc2\x9b x", "a\x1b]52;c;x\x07 \xe2\x82|\xf0\x9f\x99\x82"};
    for (size_t t = 0; t < 2; t++) {
        char whole[1024];
        snprintf(whole, sizeof whole, "%s", clean(TEXTS[t], strlen(TEXTS[t]), 4096));
        for (size_t piece = 1; piece < 8; piece++)
            CHECK_STR(clean(TEXTS[t], strlen(TEXTS[t]), piece), whole);
    }
}

/* the guard on a pseudo-terminal's stdout cleans; on a pipe it does not */
static void on_streams(void)
{
    static const char msg[] = "medreg: refused: \x1b]0;owned\x07 Zoë\n";
    int master, slave;
    CHECK(openpty(&master, &slave, NULL, NULL, NULL) == 0);
    int p[2];
    CHECK(pipe(p) == 0);
    for (int kind = 0; kind < 2; kind++) {
        pid_t pid = fork();
        if (pid == 0) {
            dup2(kind == 0 ? slave : p[1], STDOUT_FILENO);
            if (cli_tty_guard(&stdout) != 0)
                _exit(2);
            fputs(msg, stdout);
            fflush(stdout);
            _exit(0);
        }
        int status = 0;
        waitpid(pid, &status, 0);
        CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
        char got[256];
        ssize_t n = read(kind == 0 ? master : p[0], got, sizeof got - 1);
        CHECK(n > 0);
        got[n > 0 ? n : 0] = 0;
        if (kind == 0) /* the terminal turns \n into \r\n */
            CHECK_STR(got, "medreg: refused: ?]0;owned? Zoë\r\n");
        else
            CHECK_STR(got, msg);
    }
}

int main(void)
{
    cases();
    on_streams();
    return TEST_DONE();
}

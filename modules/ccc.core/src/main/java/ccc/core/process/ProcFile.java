package ccc.core.process;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.util.Arrays;
import java.util.List;

/**
 * One small file of {@code /proc} (a child list, a {@code stat}), read whole into bytes and
 * parsed without making strings. The stop path reads a few of these per stop, too few times for
 * the JIT to compile it, and {@code Files.readString} costs tens of microseconds more per file in
 * the interpreter than one open and a few reads. A file kept open is read again from its start
 * ({@link #reread()}): the kernel produces it anew, with no open at all.
 */
final class ProcFile implements AutoCloseable {

    private final RandomAccessFile file;
    private byte[] bytes = new byte[256];
    private int length;

    private ProcFile(RandomAccessFile file) {
        this.file = file;
    }

    /** Opens {@code path} and reads it; an {@link IOException} when it cannot (the process or thread is gone). */
    static ProcFile open(String path) throws IOException {
        var opened = new ProcFile(new RandomAccessFile(path, "r"));
        try {
            return opened.reread();
        } catch (IOException | RuntimeException e) {
            opened.close();
            throw e;
        }
    }

    /** Reads the file again from its start, as the kernel produces it now. */
    ProcFile reread() throws IOException {
        file.seek(0);
        length = 0;
        while (true) {
            if (length == bytes.length) {
                bytes = Arrays.copyOf(bytes, bytes.length * 2);
            }
            int read = file.read(bytes, length, bytes.length - length);
            if (read < 0) {
                return this;
            }
            length += read;
        }
    }

    /** Adds the numbers of a kernel list ("12 34 ", a child list) to {@code into}. */
    void numbersInto(List<Long> into) {
        long number = -1;
        for (int at = 0; at < length; at++) {
            int digit = bytes[at] - '0';
            if (digit >= 0 && digit <= 9) {
                number = (number < 0 ? 0 : number * 10) + digit;
            } else if (number >= 0) {
                into.add(number);
                number = -1;
            }
        }
        if (number >= 0) {
            into.add(number);
        }
    }

    /** The process state letter of a {@code stat} file (the field after the command's closing parenthesis); 0 if there is none. */
    char statState() {
        int at = afterCommand();
        return at < length ? (char) bytes[at] : 0;
    }

    /**
     * Numeric field {@code index} of a {@code stat} file, counted after the state letter (1:
     * parent, 2: process group, 3: session); -1 if it is missing or not a number.
     */
    long statField(int index) {
        int at = afterCommand();
        for (int field = 0; field < index; field++) {
            while (at < length && bytes[at] != ' ') {
                at++;
            }
            at++;
        }
        long value = -1;
        for (; at < length && bytes[at] >= '0' && bytes[at] <= '9'; at++) {
            value = (value < 0 ? 0 : value * 10) + (bytes[at] - '0');
        }
        return value;
    }

    /**
     * The clock ticks since boot now, from {@code /proc/uptime}, in the unit and from the origin of a {@code stat}
     * file's start time (field 22, {@link ProcessTree}'s {@code STAT_START_TIME}): hundredths of a second, both cut
     * down from the boot-time clock; {@link Long#MAX_VALUE} if it cannot be read.
     */
    static long uptimeTicks() {
        try (ProcFile uptime = open("/proc/uptime")) {
            long ticks = 0;
            int decimals = -1;
            for (int at = 0; at < uptime.length && uptime.bytes[at] != ' ' && decimals < 2; at++) {
                byte character = uptime.bytes[at];
                if (character == '.') {
                    decimals = 0;
                    continue;
                }
                ticks = ticks * 10 + (character - '0');
                if (decimals >= 0) {
                    decimals++;
                }
            }
            return decimals == 2 ? ticks : Long.MAX_VALUE;
        } catch (IOException | RuntimeException e) {
            return Long.MAX_VALUE;
        }
    }

    /** The last pid the kernel handed out in the core's pid namespace; {@link Long#MAX_VALUE} if it cannot be read. */
    static long lastPid() {
        try (ProcFile lastPid = open("/proc/sys/kernel/ns_last_pid")) {
            var numbers = new java.util.ArrayList<Long>(1);
            lastPid.numbersInto(numbers);
            return numbers.isEmpty() ? Long.MAX_VALUE : numbers.getFirst();
        } catch (IOException | RuntimeException e) {
            return Long.MAX_VALUE;
        }
    }

    /** Where the state letter is: after the last ')' (a command may hold any character) and a space. */
    private int afterCommand() {
        int close = length - 1;
        while (close >= 0 && bytes[close] != ')') {
            close--;
        }
        return close < 0 ? length : close + 2;
    }

    @Override
    public void close() {
        try {
            file.close();
        } catch (IOException e) {
            // A file of /proc opened for reading: nothing was written that could be lost.
        }
    }
}

package ccc.core.os;

import java.util.Locale;
import java.util.Map;
import java.util.Optional;

/** Linux signal names and numbers (the generic numbering of x86-64 and arm64). */
public final class Signals {

    private static final Map<String, Integer> NUMBERS = Map.ofEntries(
            Map.entry("HUP", 1), Map.entry("INT", 2), Map.entry("QUIT", 3), Map.entry("ILL", 4),
            Map.entry("TRAP", 5), Map.entry("ABRT", 6), Map.entry("BUS", 7), Map.entry("FPE", 8),
            Map.entry("KILL", 9), Map.entry("USR1", 10), Map.entry("SEGV", 11), Map.entry("USR2", 12),
            Map.entry("PIPE", 13), Map.entry("ALRM", 14), Map.entry("TERM", 15), Map.entry("CHLD", 17),
            Map.entry("CONT", 18), Map.entry("STOP", 19), Map.entry("TSTP", 20), Map.entry("TTIN", 21),
            Map.entry("TTOU", 22), Map.entry("URG", 23), Map.entry("XCPU", 24), Map.entry("XFSZ", 25),
            Map.entry("VTALRM", 26), Map.entry("PROF", 27), Map.entry("WINCH", 28), Map.entry("IO", 29),
            Map.entry("PWR", 30), Map.entry("SYS", 31));

    public static final int KILL = 9;
    public static final int TERM = 15;
    public static final int STOP = 19;
    public static final int CONT = 18;

    private Signals() {
    }

    /**
     * The number of a signal named {@code HUP} or {@code SIGHUP}, in any case; the name exactly,
     * nothing around it (" HUP" and "HUP\u0000" are no signal's names).
     */
    public static Optional<Integer> number(String name) {
        if (name == null) {
            return Optional.empty();
        }
        String upper = name.toUpperCase(Locale.ROOT);
        if (upper.startsWith("SIG")) {
            upper = upper.substring(3);
        }
        return Optional.ofNullable(NUMBERS.get(upper));
    }

    /** The short name of a signal number, such as {@code TERM}. */
    public static Optional<String> name(int number) {
        return NUMBERS.entrySet().stream().filter(entry -> entry.getValue() == number).map(Map.Entry::getKey).findFirst();
    }
}

package ccc.core.lifecycle;

import ccc.core.process.WorkloadOutput;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * The output of one run of the workload: the lines that reached the workload's output buffer
 * from its launch on. The buffer is shared by every run, and its plain tail after a run that
 * wrote little is mostly an earlier run's; lines are numbered in the order they arrive, so the
 * run's lines are those numbered from its first line on.
 */
final class RunOutput {

    /** About how much text one read of the buffer takes while a tail is gathered. */
    private static final int READ_BATCH_CHARS = 64 * 1024;
    // firstLine before the run's first line is found.
    private static final long NO_LINE_YET = Long.MAX_VALUE;
    // firstLine once the run's first line has left the buffer: every line it keeps came after it.
    private static final long EVERY_LINE_KEPT = Long.MIN_VALUE;

    private final WorkloadOutput output;
    // Stands just before the run's first line. A follower holds nothing up: the pumps never wait for it,
    // and it is read only once the run has ended.
    private final WorkloadOutput.Follower fromLaunch;
    // The number of the run's first line, once known.
    private long firstLine = NO_LINE_YET;

    private RunOutput(WorkloadOutput output) {
        this.output = output;
        this.fromLaunch = output.follow(0, null);
    }

    /** Marks where a run's output begins: taken just before it is launched. */
    static RunOutput beginningNow(WorkloadOutput output) {
        return new RunOutput(output);
    }

    /** The last {@code count} lines of {@code stream} the run wrote, oldest first: none of an earlier run's. */
    synchronized List<String> lastLines(int count, WorkloadOutput.Stream stream) {
        long first = firstLine();
        if (first == NO_LINE_YET) {
            return List.of();
        }
        // The buffer's last `count` lines of the stream, with their numbers, as they are now.
        var follower = output.follow(count, stream);
        var lines = new ArrayList<String>(count);
        try {
            while (lines.size() < count) {
                var batch = follower.next(READ_BATCH_CHARS, Duration.ZERO);
                if (batch.isEmpty()) {
                    break;
                }
                for (var numbered : batch) {
                    if (numbered.sequence() >= first && lines.size() < count) {
                        lines.add(numbered.line().text());
                    }
                }
            }
        } catch (WorkloadOutput.FellBehind e) {
            // Output poured in so fast while the tail was read that its lines left the buffer: those read are kept.
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        return List.copyOf(lines);
    }

    /** The number of the run's first line; {@link #NO_LINE_YET} when it has written none. */
    private long firstLine() {
        if (firstLine != NO_LINE_YET) {
            return firstLine;
        }
        try {
            var first = fromLaunch.next(1, Duration.ZERO);
            if (!first.isEmpty()) {
                firstLine = first.getFirst().sequence();
            }
        } catch (WorkloadOutput.FellBehind e) {
            firstLine = EVERY_LINE_KEPT;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        return firstLine;
    }
}

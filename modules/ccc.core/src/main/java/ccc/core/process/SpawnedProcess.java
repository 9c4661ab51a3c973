package ccc.core.process;

import ccc.core.os.Signals;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * A child process {@link PosixSpawn} started, as a {@link Process}. A platform thread
 * ({@link WaitingThreads}) waits in {@code waitid(2)} for it to end and reaps it, so that {@link #waitFor()} returns the
 * moment it ends, with an exit code that reads as the JDK's does: the status it exited with, or
 * 128 plus the number of the signal that ended it. Neither the JDK (it never heard of this
 * process) nor the core's {@link Reaper} (it reaps only the children of another thread) reaps
 * it. Signals go through a pidfd while the kernel offers one, so they reach this process and
 * never another that took its number.
 */
final class SpawnedProcess extends Process {

    private final long pid;
    private final InputStream stdout;
    private final InputStream stderr;
    private final CompletableFuture<Integer> exitCode = new CompletableFuture<>();
    // Guarded by this: the process is reaped, and signals are sent, under the lock, so that no signal
    // can go by number to a process that took the number after the reaping.
    private int pidfd;
    private boolean reaped;

    /**
     * Watches {@code pid}, a child just spawned from this thread.
     *
     * @throws IOException if no thread can wait for it ({@link WaitingThreads}); it is then killed and reaped here,
     *     before anyone has used it, since nothing else would ever reap it
     */
    SpawnedProcess(long pid, InputStream stdout, InputStream stderr) throws IOException {
        this.pid = pid;
        this.stdout = stdout;
        this.stderr = stderr;
        int opened = Native.pidfdOpen(pid);
        this.pidfd = opened >= 0 ? opened : -1;
        try {
            WaitingThreads.run("exit-of-" + pid, "waiting for process " + pid, this::awaitExit);
        } catch (IOException e) {
            synchronized (this) {
                signal(Signals.KILL);
                Native.reapExitCode(pid);
                reaped = true;
                LauncherChildren.reaped(pid);
                if (pidfd >= 0) {
                    Native.close(pidfd);
                    pidfd = -1;
                }
            }
            throw e;
        }
    }

    /**
     * The exit code, completed by the thread that reaped the process the moment it ended: its
     * dependents need no thread of their own to wait for it.
     */
    CompletionStage<Integer> exitCode() {
        return exitCode.minimalCompletionStage();
    }

    /** Waits until the process has ended, leaving it a zombie, then reaps it for its exit code. */
    private void awaitExit() {
        int waited;
        do {
            waited = Native.waitid(Native.P_PID, pid, Native.WNOWAIT);
        } while (waited == -Native.EINTR);
        int code;
        synchronized (this) {
            code = Native.reapExitCode(pid);
            reaped = true;
            LauncherChildren.reaped(pid);
            if (pidfd >= 0) {
                Native.close(pidfd);
                pidfd = -1;
            }
        }
        // Negative only if something else reaped it, which nothing in the core does to a child of the launcher's thread.
        exitCode.complete(code >= 0 ? code : -1);
    }

    @Override
    public long pid() {
        return pid;
    }

    @Override
    public ProcessHandle toHandle() {
        return ProcessHandle.of(pid).orElseThrow(() -> new UnsupportedOperationException("process " + pid + " has ended"));
    }

    @Override
    public OutputStream getOutputStream() {
        // Standard input is /dev/null.
        return OutputStream.nullOutputStream();
    }

    @Override
    public InputStream getInputStream() {
        return stdout;
    }

    @Override
    public InputStream getErrorStream() {
        return stderr;
    }

    @Override
    public int waitFor() throws InterruptedException {
        try {
            return exitCode.get();
        } catch (ExecutionException e) {
            throw new IllegalStateException(e.getCause());
        }
    }

    @Override
    public boolean waitFor(long timeout, TimeUnit unit) throws InterruptedException {
        try {
            exitCode.get(timeout, unit);
            return true;
        } catch (TimeoutException e) {
            return false;
        } catch (ExecutionException e) {
            throw new IllegalStateException(e.getCause());
        }
    }

    @Override
    public int exitValue() {
        if (!exitCode.isDone()) {
            throw new IllegalThreadStateException("process " + pid + " has not exited");
        }
        return exitCode.join();
    }

    @Override
    public boolean isAlive() {
        return !exitCode.isDone();
    }

    @Override
    public CompletableFuture<Process> onExit() {
        return exitCode.thenApply(code -> this);
    }

    @Override
    public boolean supportsNormalTermination() {
        return true;
    }

    @Override
    public void destroy() {
        signal(Signals.TERM);
    }

    @Override
    public Process destroyForcibly() {
        signal(Signals.KILL);
        return this;
    }

    /**
     * A new pidfd of this process while it is not reaped (opened under the lock the reaping
     * takes, so never of a process that took its number), else minus ESRCH.
     */
    synchronized int openPidfd() {
        return reaped ? -Native.ESRCH : Native.pidfdOpen(pid);
    }

    private synchronized void signal(int signal) {
        if (pidfd >= 0) {
            Native.pidfdSendSignal(pidfd, signal);
        } else if (!reaped) {
            Native.kill(pid, signal);
        }
    }

    @Override
    public String toString() {
        return "SpawnedProcess[pid=" + pid + ", exitValue=" + (exitCode.isDone() ? exitCode.join() : "running") + "]";
    }
}

package ccc.core.events;

import java.time.Duration;
import java.util.Optional;

/**
 * What one streamed answer sends ({@code /api/events}, {@code /api/logs?follow=true}): frames as
 * they come, until the client leaves, the source ends, or the client falls behind. Whatever feeds
 * a source never waits for it; a source holds a bounded buffer, and a client that lets it overflow
 * has fallen behind and is dropped with a last frame saying why.
 */
public interface FrameSource extends AutoCloseable {

    /**
     * The frames to send next, waiting up to {@code wait} for some: {@link Frames#NONE} when none
     * came; a last frame saying why once the client has fallen behind; {@link Frames#END} once
     * the source has ended and everything before was handed out.
     */
    Frames next(Duration wait) throws InterruptedException;

    /** Why the client is being dropped, once it has fallen behind; asked by a watchdog from another thread. */
    Optional<String> fellBehind();

    /** Ends the stream once what is waiting has been handed out: the core shuts down. Any thread. */
    void end();

    /** Frees what the source holds (its place among the subscribers, say); called once, when its answer ends. */
    @Override
    void close();
}

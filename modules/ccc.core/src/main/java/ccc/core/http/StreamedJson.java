package ccc.core.http;

import com.fasterxml.jackson.core.JsonGenerator;
import java.io.IOException;

/**
 * A JSON body written as it is produced, chunked, for an answer that should not be built whole
 * in memory ({@link Streams#json}). It is closed once the answer is written or has failed, so it may hold a
 * resource for the time of the answer.
 */
public interface StreamedJson extends AutoCloseable {

    /** Writes the whole body. */
    void writeTo(JsonGenerator json) throws IOException;

    @Override
    default void close() {
    }
}

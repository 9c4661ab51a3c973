package ccc.core.http;

import com.sun.net.httpserver.HttpExchange;
import java.io.IOException;

/** An answer that goes on while the client stays (an event stream): the router hands it the exchange once the route has accepted the request. */
@FunctionalInterface
public interface StreamedAnswer {

    /** Writes the whole answer, status and headers included, until it ends or the client leaves. */
    void serve(HttpExchange exchange) throws IOException;
}

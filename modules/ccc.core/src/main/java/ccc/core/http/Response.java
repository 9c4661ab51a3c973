package ccc.core.http;

import java.util.LinkedHashMap;
import java.util.Map;

/** What a route answers: a status and a JSON body. */
public record Response(int status, Object body) {

    /** 200 with {@code body}. */
    public static Response ok(Object body) {
        return new Response(200, body);
    }

    /** 200 with {@code {"message": text}}, as the Python core answers control calls. */
    public static Response message(String text) {
        return new Response(200, Map.of("message", text));
    }

    /** An error with {@code {"detail": text}}. */
    public static Response detail(int status, String text) {
        var body = new LinkedHashMap<String, Object>();
        body.put("detail", text);
        return new Response(status, body);
    }
}

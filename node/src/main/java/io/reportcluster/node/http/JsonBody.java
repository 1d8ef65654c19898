package io.reportcluster.node.http;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import io.reportcluster.protocol.Json;
import java.util.function.Function;
import org.apache.pekko.http.javadsl.model.MediaTypes;
import org.apache.pekko.http.javadsl.model.StatusCodes;
import org.apache.pekko.http.javadsl.server.AllDirectives;
import org.apache.pekko.http.javadsl.server.Route;
import org.apache.pekko.http.javadsl.unmarshalling.Unmarshaller;

/**
 * The one way a route reads a JSON body: 415 unless it is declared JSON, 413 past {@code
 * reports.http.max-body-bytes} (found while the body is read, declared or chunked, and answered by
 * {@link HttpServer}'s error policy), 400 if empty or malformed, with where it went wrong.
 */
public final class JsonBody extends AllDirectives {
  private final long maxBodyBytes;

  public JsonBody(long maxBodyBytes) {
    this.maxBodyBytes = maxBodyBytes;
  }

  public long maxBodyBytes() {
    return maxBodyBytes;
  }

  public Route read(Function<JsonNode, Route> inner) {
    return extractRequestEntity(
        entity -> {
          if (!entity.getContentType().mediaType().equals(MediaTypes.APPLICATION_JSON)) {
            return complete(
                JsonResponses.error(
                    StatusCodes.UNSUPPORTED_MEDIA_TYPE,
                    "unsupported_media_type",
                    "send the body as application/json, not "
                        + entity.getContentType().mediaType()));
          }
          return withSizeLimit(
              maxBodyBytes,
              () ->
                  entity(
                      Unmarshaller.entityToString(),
                      text -> {
                        if (text.isBlank()) {
                          return complete(
                              JsonResponses.error(
                                  StatusCodes.BAD_REQUEST, "malformed_json", "the body is empty"));
                        }
                        JsonNode node;
                        try {
                          node = Json.MAPPER.readTree(text);
                        } catch (JsonProcessingException e) {
                          return complete(
                              JsonResponses.error(
                                  StatusCodes.BAD_REQUEST, "malformed_json", describe(e)));
                        }
                        return inner.apply(node);
                      }));
        });
  }

  /** Jackson's message without its internal source description, plus where it went wrong. */
  private static String describe(JsonProcessingException e) {
    String message = e.getOriginalMessage();
    if (message.startsWith("Trailing token")) {
      // Jackson's text names its classes and the FAIL_ON_TRAILING_TOKENS feature: not for clients.
      message = "unexpected content after the JSON value";
    }
    int cut = message.indexOf(" (start marker");
    if (cut > 0) message = message.substring(0, cut);
    if (e.getLocation() != null) {
      message +=
          " at line " + e.getLocation().getLineNr() + ", column " + e.getLocation().getColumnNr();
    }
    return message;
  }
}

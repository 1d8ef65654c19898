package io.reportcluster.node.http;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.core.exc.StreamConstraintsException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.reportcluster.protocol.Json;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.CharsetDecoder;
import java.nio.charset.CoderResult;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.function.Function;
import org.apache.pekko.http.javadsl.model.MediaTypes;
import org.apache.pekko.http.javadsl.model.StatusCodes;
import org.apache.pekko.http.javadsl.server.AllDirectives;
import org.apache.pekko.http.javadsl.server.Route;
import org.apache.pekko.http.javadsl.unmarshalling.Unmarshaller;
import org.apache.pekko.util.ByteString;

/**
 * The one way a route reads a JSON body: 415 unless it is declared JSON, 413 past {@code
 * reports.http.max-body-bytes} (found while the body is read, declared or chunked, and answered by
 * {@link HttpServer}'s error policy), 400 if empty or malformed, with where it went wrong. JSON is
 * UTF-8 (RFC 8259): bytes that are not valid UTF-8 are malformed, not replaced. A key given twice
 * is malformed too (two readers of the same body must not see two different values), and nesting
 * deeper than {@code reports.http.max-json-depth} is refused before it costs a deep tree.
 */
public final class JsonBody extends AllDirectives {
  private final long maxBodyBytes;
  private final int maxDepth;

  /** The contract's mapping ({@link Json}) with this reader's limits on what it accepts. */
  private final ObjectMapper mapper;

  public JsonBody(long maxBodyBytes, int maxDepth) {
    this.maxBodyBytes = maxBodyBytes;
    this.maxDepth = maxDepth;
    this.mapper = Json.MAPPER.copy().enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION);
    mapper
        .getFactory()
        .setStreamReadConstraints(
            StreamReadConstraints.builder().maxNestingDepth(maxDepth).build());
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
                      Unmarshaller.entityToByteString(),
                      bytes -> {
                        if (isBlank(bytes)) {
                          return complete(
                              JsonResponses.error(
                                  StatusCodes.BAD_REQUEST, "malformed_json", "the body is empty"));
                        }
                        String text;
                        try {
                          text = utf8(bytes);
                        } catch (IllegalArgumentException e) {
                          return complete(
                              JsonResponses.error(
                                  StatusCodes.BAD_REQUEST, "malformed_json", e.getMessage()));
                        }
                        JsonNode node;
                        try {
                          node = mapper.readTree(text);
                        } catch (StreamConstraintsException e) {
                          return complete(
                              JsonResponses.error(
                                  StatusCodes.BAD_REQUEST, "json_too_complex", describe(e)));
                        } catch (IOException e) {
                          return complete(
                              JsonResponses.error(
                                  StatusCodes.BAD_REQUEST, "malformed_json", describe(e)));
                        }
                        return inner.apply(node);
                      }));
        });
  }

  /**
   * The body as UTF-8, strictly: Jackson's own decoding lets overlong forms through ({@code C0 AF}
   * would read as '/'), Java's decoder refuses them, as it refuses encoded surrogates and stray
   * bytes.
   */
  private static String utf8(ByteString bytes) {
    ByteBuffer in = bytes.asByteBuffer();
    CharBuffer out = CharBuffer.allocate(bytes.size());
    CharsetDecoder decoder =
        StandardCharsets.UTF_8
            .newDecoder()
            .onMalformedInput(CodingErrorAction.REPORT)
            .onUnmappableCharacter(CodingErrorAction.REPORT);
    CoderResult result = decoder.decode(in, out, true);
    if (!result.isError()) result = decoder.flush(out);
    if (result.isError()) {
      throw new IllegalArgumentException(
          "the body is not valid UTF-8 (at byte " + in.position() + ")");
    }
    return out.flip().toString();
  }

  private static boolean isBlank(ByteString bytes) {
    for (int i = 0; i < bytes.size(); i++) {
      byte b = bytes.apply(i);
      if (b != ' ' && b != '\t' && b != '\r' && b != '\n') return false;
    }
    return true;
  }

  private String describe(StreamConstraintsException e) {
    String message = e.getOriginalMessage();
    if (message.startsWith("Document nesting depth")) {
      message =
          "the JSON nests objects and arrays deeper than "
              + maxDepth
              + " levels (reports.http.max-json-depth)";
    } else {
      // "Number value length (2000) exceeds the maximum allowed (1000, from `StreamRead...`)".
      int cut = message.indexOf(", from `");
      if (cut > 0) message = message.substring(0, cut) + ")";
    }
    return withLocation(message, e);
  }

  /** Jackson's message without its internal source description, plus where it went wrong. */
  private static String describe(IOException e) {
    if (!(e instanceof JsonProcessingException json)) return "the body could not be read";
    String message = json.getOriginalMessage();
    if (message.startsWith("Trailing token")) {
      // Jackson's text names its classes and the FAIL_ON_TRAILING_TOKENS feature: not for clients.
      message = "unexpected content after the JSON value";
    }
    int cut = message.indexOf(" (start marker");
    if (cut > 0) message = message.substring(0, cut);
    return withLocation(message, json);
  }

  private static String withLocation(String message, JsonProcessingException e) {
    if (e.getLocation() != null) {
      message +=
          " at line " + e.getLocation().getLineNr() + ", column " + e.getLocation().getColumnNr();
    }
    return message;
  }
}

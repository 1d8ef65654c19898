package io.reportcluster.node.http;

import com.fasterxml.jackson.core.JsonProcessingException;
import io.reportcluster.protocol.Api.ErrorBody;
import io.reportcluster.protocol.Json;
import org.apache.pekko.http.javadsl.model.ContentTypes;
import org.apache.pekko.http.javadsl.model.HttpEntities;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.http.javadsl.model.StatusCode;
import org.apache.pekko.http.javadsl.model.StatusCodes;
import org.apache.pekko.http.javadsl.model.headers.RetryAfter;

/** JSON responses of the API, written with the contract's one mapper ({@link Json}). */
public final class JsonResponses {
  private JsonResponses() {}

  public static HttpResponse response(StatusCode status, Object body) {
    try {
      return HttpResponse.create()
          .withStatus(status)
          .withEntity(
              HttpEntities.create(
                  ContentTypes.APPLICATION_JSON, Json.MAPPER.writeValueAsBytes(body)));
    } catch (JsonProcessingException e) {
      // Our own records always serialize; reaching this is a bug, still answered as JSON.
      return HttpResponse.create()
          .withStatus(StatusCodes.INTERNAL_SERVER_ERROR)
          .withEntity(
              HttpEntities.create(
                  ContentTypes.APPLICATION_JSON,
                  "{\"error\":\"internal_error\",\"detail\":\"response could not be encoded\"}"));
    }
  }

  public static HttpResponse error(StatusCode status, String error, Object detail) {
    return response(status, new ErrorBody(error, detail));
  }

  public static HttpResponse unknownJob(String id) {
    return error(StatusCodes.NOT_FOUND, "unknown_job", "no job with id '" + id + "'");
  }

  /** A body past {@code reports.http.max-body-bytes}, however the server found out. */
  public static HttpResponse bodyTooLarge(long maxBodyBytes) {
    return error(
        StatusCodes.PAYLOAD_TOO_LARGE,
        "body_too_large",
        "the body is larger than " + maxBodyBytes + " bytes");
  }

  /** A 503 that tells the client to come back in {@code retryAfterSeconds}. */
  public static HttpResponse unavailable(String error, String detail, long retryAfterSeconds) {
    return error(StatusCodes.SERVICE_UNAVAILABLE, error, detail)
        .addHeader(RetryAfter.create(retryAfterSeconds));
  }
}

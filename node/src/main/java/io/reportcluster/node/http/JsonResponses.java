package io.reportcluster.node.http;

import com.fasterxml.jackson.core.JsonProcessingException;
import io.reportcluster.protocol.Api.ErrorBody;
import io.reportcluster.protocol.Json;
import org.apache.pekko.http.javadsl.model.ContentTypes;
import org.apache.pekko.http.javadsl.model.HttpEntities;
import org.apache.pekko.http.javadsl.model.HttpResponse;
import org.apache.pekko.http.javadsl.model.StatusCode;
import org.apache.pekko.http.javadsl.model.StatusCodes;

/** JSON responses of the API, written with the contract's one mapper ({@link Json}). */
public final class JsonResponses {
  private JsonResponses() {}

  public static HttpResponse response(StatusCode status, Object body) {
    try {
      return HttpResponse.create()
          .withStatus(status)
          .withEntity(HttpEntities.create(ContentTypes.APPLICATION_JSON, Json.MAPPER.writeValueAsBytes(body)));
    } catch (JsonProcessingException e) {
      // Our own records always serialize; reaching this is a bug, still answered as JSON.
      return HttpResponse.create()
          .withStatus(StatusCodes.INTERNAL_SERVER_ERROR)
          .withEntity(HttpEntities.create(ContentTypes.APPLICATION_JSON,
              "{\"error\":\"internal_error\",\"detail\":\"response could not be encoded\"}"));
    }
  }

  public static HttpResponse error(StatusCode status, String error, Object detail) {
    return response(status, new ErrorBody(error, detail));
  }
}

package io.reportcluster.node.testkit;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketException;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;

/**
 * HTTP/1.1 over a plain socket, for what {@code java.net.http} refuses to send: malformed request
 * lines and headers, lying Content-Lengths, garbage, bytes at a chosen pace. Reads one answer (by
 * its Content-Length), or notices that the server closed the connection without one.
 */
public final class RawHttp {
  private RawHttp() {}

  /**
   * One answer read from the server: its status line's code, headers (names in lower case; the last
   * of repeated ones) and body; or {@link #NONE} when the connection ended without one.
   */
  public record Answer(int status, Map<String, String> headers, String body) {
    public static final Answer NONE = new Answer(0, Map.of(), "");

    public boolean none() {
      return status == 0;
    }

    public String header(String name) {
      return headers.get(name.toLowerCase(Locale.ROOT));
    }
  }

  public static Socket connect(InetSocketAddress server, Duration readTimeout) throws IOException {
    Socket socket = new Socket(server.getAddress(), server.getPort());
    socket.setSoTimeout((int) readTimeout.toMillis());
    return socket;
  }

  /** Sends {@code request} on a new connection and reads the answer. */
  public static Answer exchange(InetSocketAddress server, byte[] request) throws IOException {
    try (Socket socket = connect(server, Duration.ofSeconds(20))) {
      try {
        socket.getOutputStream().write(request);
        socket.getOutputStream().flush();
      } catch (SocketException e) {
        // The server may answer and close before the whole request is written (431, 414, 413):
        // the answer is still there to read.
      }
      return read(socket.getInputStream());
    }
  }

  /**
   * Reads one answer: the head up to its blank line, then Content-Length bytes of body. {@link
   * Answer#NONE} if the stream ends (or is reset) before a head arrives.
   *
   * @throws SocketTimeoutException if nothing ends within the socket's read timeout
   */
  public static Answer read(InputStream in) throws IOException {
    ByteArrayOutputStream head = new ByteArrayOutputStream();
    int matched = 0;
    while (matched < 4) {
      int b;
      try {
        b = in.read();
      } catch (SocketException reset) {
        b = -1;
      }
      if (b < 0) {
        if (head.size() == 0) return Answer.NONE;
        throw new IOException("the connection ended inside an answer's head: " + head);
      }
      head.write(b);
      matched = (b == (matched % 2 == 0 ? '\r' : '\n')) ? matched + 1 : (b == '\r' ? 1 : 0);
    }
    String[] lines = head.toString(StandardCharsets.ISO_8859_1).split("\r\n");
    int status = Integer.parseInt(lines[0].split(" ")[1]);
    Map<String, String> headers = new LinkedHashMap<>();
    for (int i = 1; i < lines.length; i++) {
      int colon = lines[i].indexOf(':');
      if (colon > 0) {
        headers.put(
            lines[i].substring(0, colon).trim().toLowerCase(Locale.ROOT),
            lines[i].substring(colon + 1).trim());
      }
    }
    int length = Integer.parseInt(headers.getOrDefault("content-length", "0"));
    byte[] body = in.readNBytes(length);
    return new Answer(status, headers, new String(body, StandardCharsets.UTF_8));
  }

  /**
   * Whether the server has closed the connection: reads until end of stream, failing if it sends
   * anything more or keeps it open past the socket's read timeout.
   */
  public static boolean closedWithoutMore(InputStream in) throws IOException {
    try {
      return in.read() < 0;
    } catch (SocketTimeoutException e) {
      return false;
    } catch (SocketException reset) {
      return true;
    }
  }
}

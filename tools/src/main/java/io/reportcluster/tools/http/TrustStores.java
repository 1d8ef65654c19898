package io.reportcluster.tools.http;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.cert.Certificate;
import java.security.cert.CertificateFactory;
import java.util.Locale;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;

/**
 * A TLS client context that trusts the CAs of one file (a service with certificates of its own CA):
 * a PEM file of CA certificates, or a PKCS12 trust store (a file named *.p12 or *.pfx).
 */
public final class TrustStores {
  private TrustStores() {}

  /** Trusts exactly the CAs in {@code file}; {@code password} only for PKCS12 ("" for none). */
  public static SSLContext trusting(Path file, String password) throws IOException {
    try {
      KeyStore store = KeyStore.getInstance("PKCS12");
      String name = file.getFileName().toString().toLowerCase(Locale.ROOT);
      try (InputStream in = Files.newInputStream(file)) {
        if (name.endsWith(".p12") || name.endsWith(".pfx")) {
          store.load(in, password.toCharArray());
        } else {
          store.load(null, null);
          int i = 0;
          for (Certificate ca : CertificateFactory.getInstance("X.509").generateCertificates(in))
            store.setCertificateEntry("ca-" + i++, ca);
          if (i == 0) throw new IOException(file + " holds no PEM certificate");
        }
      }
      TrustManagerFactory trust =
          TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
      trust.init(store);
      SSLContext context = SSLContext.getInstance("TLS");
      context.init(null, trust.getTrustManagers(), null);
      return context;
    } catch (GeneralSecurityException e) {
      throw new IOException("cannot use " + file + " as a trust store: " + e.getMessage(), e);
    }
  }
}

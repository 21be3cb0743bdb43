package dev.tributary.pekko;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.tributary.EventSequenceToken;
import org.junit.jupiter.api.Test;

class TokenWatermarkTest {

  @Test
  void anEmptyWatermark_acceptsEveryToken() {
    assertThat(TokenWatermark.NONE.isEmpty()).isTrue();
    assertThat(TokenWatermark.NONE.isNew(new EventSequenceToken(0))).isTrue();
    assertThat(TokenWatermark.NONE.sequenceNumber()).isEqualTo(-1);
  }

  @Test
  void advance_acceptsOnlyNewerTokens_andRoundTripsThroughItsStoredForm() {
    TokenWatermark w = TokenWatermark.NONE.advance(new EventSequenceToken(7, 1));
    assertThat(w.isNew(new EventSequenceToken(7, 1))).as("the same token").isFalse();
    assertThat(w.isNew(new EventSequenceToken(7, 0))).as("an older event of the batch").isFalse();
    assertThat(w.isNew(new EventSequenceToken(3))).isFalse();
    assertThat(w.isNew(new EventSequenceToken(7, 2))).isTrue();
    assertThat(w.isNew(new EventSequenceToken(8))).isTrue();
    assertThat(TokenWatermark.of(w.sequenceNumber(), w.eventIndex())).isEqualTo(w);
    assertThatThrownBy(() -> w.advance(new EventSequenceToken(7, 1)))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("token was [7,1] but it must be newer than the watermark [7,1]");
  }
}

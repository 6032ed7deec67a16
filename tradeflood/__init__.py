"""TradeFlood."""

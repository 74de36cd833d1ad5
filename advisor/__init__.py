"""The outsourcing advisor: flows, the conversation engine and the advice they give."""

"""marshmallow output schemas, and the row plans compiled from them."""

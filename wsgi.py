from eventio import create_app

app = create_app()

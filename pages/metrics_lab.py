import streamlit as st

st.title("metrics_lab")
st.info("This page is being built.")
